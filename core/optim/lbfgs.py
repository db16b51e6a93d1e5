"""``ember.optim.LBFGS``: mirrors ``torch.optim.LBFGS`` (closure required; optional strong
Wolfe line search). A port of PyTorch's algorithm, step for step, over one flat backend
array of all parameters; scalars stay 0-d arrays of the parameter dtype where torch keeps
0-d tensors, so the arithmetic rounds the same way."""
from __future__ import annotations

from .optimizer import Optimizer, write

__all__ = ["LBFGS"]


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    xmin_bound, xmax_bound = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = d2_square ** 0.5
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(xp, obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    d_norm = xp.max(xp.abs(d))
    g = xp.asarray(g, copy=True)
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = xp.sum(g_new * d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, xp.asarray(g_new, copy=True)], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, xp.asarray(g_new, copy=True)], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, xp.asarray(g_new, copy=True), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = xp.sum(g_new * d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) \
                    else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = xp.sum(g_new * d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos] = xp.asarray(g_new, copy=True)
            bracket_gtd[high_pos] = gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos] = bracket[low_pos]
                bracket_f[high_pos] = bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos] = xp.asarray(g_new, copy=True)
            bracket_gtd[low_pos] = gtd_new
    t = bracket[low_pos]
    return bracket_f[low_pos], bracket_g[low_pos], t, ls_func_evals


class LBFGS(Optimizer):
    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change,
                                      history_size=history_size, line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # --- flat views of all parameters -------------------------------------------------------
    def _xp(self):
        return self._params[0]._device._be.xp

    def _gather_flat_grad(self):
        xp = self._xp()
        parts = [xp.reshape(p.grad._data, (-1,)) if p.grad is not None
                 else xp.zeros((p.numel(),), dtype=p._data.dtype) for p in self._params]
        return xp.concat(parts) if len(parts) > 1 else xp.asarray(parts[0], copy=True)

    def _add_grad(self, step_size, update):
        xp = self._xp()
        offset = 0
        for p in self._params:
            n = p.numel()
            a = p._data
            a += step_size * xp.reshape(update[offset:offset + n], p._data.shape)
            write(p, a)
            offset += n

    def _clone_param(self):
        return [p._device._be.copy(p._data) for p in self._params]

    def _set_param(self, params_data):
        for p, data in zip(self._params, params_data):
            a = p._data
            if hasattr(a, "__setitem__") and p._device._be.mutable:
                a[...] = data
            else:
                a = p._device._be.copy(data)
            write(p, a)

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(self._eval(closure))
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    @staticmethod
    def _eval(closure):
        from ..autograd.grad_mode import enable_grad
        with enable_grad():
            return closure()

    def step(self, closure):
        """One LBFGS step (up to ``max_iter`` iterations); ``closure`` re-evaluates the loss
        and its gradients and returns the loss."""
        if closure is None:
            raise RuntimeError("LBFGS requires a closure (a function that reevaluates the model "
                               "and returns the loss)")
        xp = self._xp()
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = self._eval(closure)
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if xp.max(xp.abs(flat_grad)) <= tolerance_grad:
            return orig_loss

        unwrap = _Unwrap()
        d, t = unwrap(state.get("d")), state.get("t")
        old_dirs, old_stps = unwrap(state.get("old_dirs")), unwrap(state.get("old_stps"))
        ro, H_diag = unwrap(state.get("ro")), unwrap(state.get("H_diag"))
        prev_flat_grad, prev_loss = unwrap(state.get("prev_flat_grad")), state.get("prev_loss")
        al = unwrap(state.get("al"))

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = xp.sum(y * s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / xp.sum(y * y)
                num_old = len(old_dirs)
                if al is None:
                    al = [None] * history_size
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = xp.sum(old_stps[i] * q) * ro[i]
                    q = q - al[i] * old_dirs[i]
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = xp.sum(old_dirs[i] * r) * ro[i]
                    r = r + (al[i] - be_i) * old_stps[i]
                d = r
            prev_flat_grad = xp.asarray(flat_grad, copy=True)
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / xp.sum(xp.abs(flat_grad))) * lr
            else:
                t = lr
            gtd = xp.sum(flat_grad * d)
            if gtd > -tolerance_change:
                break
            ls_func_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)
                loss, flat_grad, t, ls_func_evals = _strong_wolfe(xp, obj_func, x_init, t, d,
                                                                  loss, flat_grad, gtd)
                self._add_grad(t, d)
                opt_cond = xp.max(xp.abs(flat_grad)) <= tolerance_grad
            else:
                self._add_grad(t, d)
                opt_cond = False
                if n_iter != max_iter:
                    loss = float(self._eval(closure))
                    flat_grad = self._gather_flat_grad()
                    opt_cond = xp.max(xp.abs(flat_grad)) <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if xp.max(xp.abs(d * t)) <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        wrap = _Wrap(self._params[0])
        state.update(d=wrap(d), t=float(t) if t is not None else t, old_dirs=wrap(old_dirs),
                     old_stps=wrap(old_stps), ro=wrap(ro), H_diag=wrap(H_diag),
                     prev_flat_grad=wrap(prev_flat_grad), prev_loss=prev_loss, al=wrap(al))
        return orig_loss


class _Wrap:
    """State is kept as tensors (as torch keeps it) so state_dict/save see tensors."""

    def __init__(self, ref):
        self.ref = ref

    def __call__(self, x):
        from .._tensor import Tensor, wrap
        if isinstance(x, list):
            return [self(v) for v in x]
        if x is None or isinstance(x, (int, float, Tensor)):
            return x
        ref = self.ref
        return wrap(ref._device._be.xp.asarray(x), ref._device._be.ember_dtype(x.dtype), ref._device)


class _Unwrap:
    def __call__(self, x):
        from .._tensor import Tensor
        if isinstance(x, list):
            return [self(v) for v in x]
        return x._data if isinstance(x, Tensor) else x
