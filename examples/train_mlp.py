"""The seeds' training procedure as a plain PyTorch script (nothing ember-specific in it).

    python3 examples/train_mlp.py --epochs 10       # with PyTorch
    ember run examples/train_mlp.py --epochs 10     # the same file, unmodified, on ember

Dataset + DataLoader, a Linear-ReLU-Linear net, MSELoss, SGD with momentum, train and
validation loops with model.train()/model.eval() and no_grad, save and reload the state
dict. Data and initial weights come from torch.sin and torch.linspace (no random numbers), so the two
runs print the same losses: tests/test_cli.py compares them.
"""
import argparse
import os
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset


class MyDataset(Dataset):
    """n scattered points in [-1, 1]^4; the target is the sum of their squares."""

    def __init__(self, n, phase=0.0):
        self.x = torch.sin(torch.arange(n * 4) * 1.7 + phase).reshape(n, 4)
        self.y = (self.x ** 2).sum(dim=1, keepdim=True)

    def __getitem__(self, index):
        return self.x[index], self.y[index]

    def __len__(self):
        return len(self.x)


class MyNet(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.fc2 = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--checkpoint", default=os.path.join(tempfile.gettempdir(),
                                                             "train_mlp.pth"))
    args = parser.parse_args()
    device = args.device

    tr_set = DataLoader(MyDataset(64), 16, shuffle=False)
    dv_set = DataLoader(MyDataset(16, phase=0.5), 16, shuffle=False)
    model = MyNet(4, 16, 1).to(device)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.linspace(-0.5, 0.5, p.numel()).reshape(p.shape))
    criterion = nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    for epoch in range(args.epochs):
        model.train()
        for x, y in tr_set:
            optimizer.zero_grad()
            x, y = x.to(device), y.to(device)
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
        model.eval()
        total_loss = 0
        for x, y in dv_set:
            x, y = x.to(device), y.to(device)
            with torch.no_grad():
                total_loss += criterion(model(x), y).cpu().item() * len(x)
        print(f"epoch {epoch + 1}: train loss {loss.item():.6f}, "
              f"val loss {total_loss / len(dv_set.dataset):.6f}")

    torch.save(model.state_dict(), args.checkpoint)
    model.load_state_dict(torch.load(args.checkpoint))
    print(f"saved and reloaded {args.checkpoint}; {type(model.fc1.weight).__module__}")


if __name__ == "__main__":
    main()
