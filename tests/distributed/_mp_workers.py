"""Functions the multiprocessing tests run in child processes (importable by name)."""
import ember


def put_tensors(i: int, q, base, n: int) -> None:
    """Sends back ``base * (i + 1)`` (base came through shared memory) and new tensors."""
    q.put({"i": i, "scaled": base * (i + 1), "big": ember.arange(n, dtype=ember.float64),
           "small": ember.ones(3), "grad": ember.zeros(2, requires_grad=True)})


def fail(i: int) -> None:
    raise ValueError(f"process {i} says no")
