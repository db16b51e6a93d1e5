"""The seeds' nn snippets run unchanged with ``import ember as torch``."""
import ember as torch
import ember.nn as nn
import ember.nn.functional as F


class MyModel(nn.Module):
    def __init__(self):
        super(MyModel, self).__init__()
        self.net = nn.Sequential(
            nn.Linear(10, 32),
            nn.Sigmoid(),
            nn.Linear(32, 1)
        )

    def forward(self, x):
        return self.net(x)


class MyModelFlat(nn.Module):
    def __init__(self):
        super(MyModelFlat, self).__init__()
        self.layer1 = nn.Linear(10, 32)
        self.layer2 = nn.Sigmoid()
        self.layer3 = nn.Linear(32, 1)

    def forward(self, x):
        out = self.layer1(x)
        out = self.layer2(out)
        out = self.layer3(out)
        return out


class MyNet(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(MyNet, self).__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.fc2 = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return x


def test_linear_shapes():
    layer = torch.nn.Linear(32, 64)
    assert layer.weight.shape == torch.Size([64, 32])
    assert layer.bias.shape == torch.Size([64])


def test_mynet(device):
    model = MyNet(10, 20, 1).to(device)
    x = torch.randn(5, 10, device=device)
    y = model(x)
    assert y.shape == torch.Size([5, 1])
    assert str(y.shape) == "torch.Size([5, 1])"


def test_training_loop_mse_decreases(device):
    torch.manual_seed(0)
    model = MyModel().to(device)
    criterion = nn.MSELoss()
    x = torch.randn(64, 10, device=device)
    y = x.sum(1, keepdim=True) * 0.1
    losses = []
    for _ in range(50):
        model.train()
        for p in model.parameters():
            p.grad = None
        pred = model(x)
        loss = criterion(pred, y)
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
        losses.append(loss.item())
    model.eval()
    assert losses[-1] < losses[0] * 0.5


def test_flat_model_matches_sequential_keys():
    assert list(MyModel().state_dict().keys()) == ["net.0.weight", "net.0.bias",
                                                   "net.2.weight", "net.2.bias"]
    assert list(MyModelFlat().state_dict().keys()) == ["layer1.weight", "layer1.bias",
                                                       "layer3.weight", "layer3.bias"]


def test_cross_entropy_criterion(device):
    criterion = nn.CrossEntropyLoss()
    out = torch.randn(4, 3, device=device, requires_grad=True)
    loss = criterion(out, torch.tensor([0, 2, 1, 1], device=device))
    loss.backward()
    assert out.grad.shape == torch.Size([4, 3])
