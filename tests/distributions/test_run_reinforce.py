"""PyTorch's REINFORCE pattern (``from torch.distributions import Categorical``) runs
unmodified under ``ember run``."""
from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent('''
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
    from torch.distributions import Categorical
    import torch.distributions as D

    import ember
    assert Categorical is ember.distributions.Categorical and D is ember.distributions

    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.affine1 = nn.Linear(4, 16)
            self.affine2 = nn.Linear(16, 2)

        def forward(self, x):
            return F.softmax(self.affine2(F.relu(self.affine1(x))), dim=1)

    torch.manual_seed(0)
    policy = Policy()
    optimizer = optim.Adam(policy.parameters(), lr=3e-2)
    state = torch.ones(1, 4)
    for episode in range(40):
        log_probs, rewards = [], []
        for t in range(8):  # a bandit: action 1 pays 1
            probs = policy(state)
            m = Categorical(probs)
            action = m.sample()
            log_probs.append(m.log_prob(action))
            rewards.append(float(action.item() == 1))
        returns = torch.tensor(rewards)
        returns = (returns - returns.mean()) / (returns.std() + 1e-6)
        loss = torch.cat([-lp * r for lp, r in zip(log_probs, returns)]).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(round(policy(state)[0, 1].item(), 2) > 0.9)
''')


def test_reinforce_script_under_ember_run(tmp_path):
    path = tmp_path / "reinforce.py"
    path.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, "-m", "ember", "run", str(path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"
