"""Named presets: short specs with a few sentences a teacher can read aloud.

Each preset is a partial spec dict (everything else takes its default), a
suggested number of epochs, and an explanation. ``preset(name)`` returns the
validated ``Spec``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine import presets_text
from engine.registry import Registry
from engine.spec import Spec


@dataclass(frozen=True)
class Preset:
    """A named setup.

    Attributes:
        title: a short human title.
        spec: a partial spec dict, validated by ``Spec.from_dict``.
        epochs: how long to train to see the point (the CLI's default).
        explanation: two or three sentences for a class.
        topic: the page it belongs to: ``"playground"``, ``"gradients"`` (the
            Gradient flow page's lessons), ``"sequences"`` or ``"images"``.
    """

    title: str
    spec: dict[str, Any]
    epochs: int
    explanation: str
    topic: str = "playground"


def topic_presets(topic: str) -> list[str]:
    """Names of the presets of one topic, in registry order."""
    return [n for n in PRESETS.names() if PRESETS.get(n).topic == topic]


def _dense(units: int, activation: str) -> dict[str, Any]:
    return {"type": "dense", "units": units, "activation": activation}


PRESETS: Registry[Preset] = Registry("preset")
PRESETS.register("tf_playground", Preset(
    "TensorFlow Playground's default",
    {"data": {"name": "circle", "noise": 0.0},
     "model": {"layers": [_dense(4, "tanh"), _dense(2, "tanh")],
               "output_activation": "tanh", "init": "tf_playground"},
     "loss": "half_mse", "optimizer": {"name": "sgd", "learning_rate": 0.03},
     "batch_size": 10},
    200,
    "The network TensorFlow Playground opens with: two tanh hidden layers of 4 and 2 "
    "neurons, a tanh output trained on squared error with plain SGD. Watch the hidden "
    "neurons combine straight-ish boundaries into a circle.",
), "TensorFlow Playground's default network on the circle data.")
PRESETS.register("xor_backprop", Preset(
    "XOR with a 2-2-1 sigmoid network",
    {"data": {"name": "xor_gate", "n": 40, "noise": 0.0},
     "model": {"layers": [_dense(2, "sigmoid")], "output_activation": "sigmoid",
               "init": "normal"},
     "loss": "mse", "optimizer": {"name": "sgd", "learning_rate": 2.0},
     "batch_size": 4, "seed": 1},
    2000,
    "The classic backpropagation exercise: no single line separates XOR, but two hidden "
    "sigmoid neurons can each draw one line and the output neuron combines them. Every "
    "number here is small enough to follow by hand.",
), "The classic XOR problem solved by a 2-2-1 sigmoid network with backprop.")
PRESETS.register("linear_regression", Preset(
    "Linear regression by gradient descent",
    {"data": {"name": "line", "features": ["x1"], "noise": 0.3},
     "model": {"layers": [], "output_activation": "linear", "init": "zeros"},
     "loss": "mse", "optimizer": {"name": "sgd", "learning_rate": 0.02},
     "batch_size": 10_000},
    300,
    "A network with no hidden layer and a linear output is linear regression: y = w x + b. "
    "Full-batch gradient descent on the mean squared error walks w and b to the "
    "least-squares line (here w = 0.5, b = 1).",
), "A single linear neuron fitted with full-batch gradient descent.")
PRESETS.register("logistic_regression", Preset(
    "Logistic regression",
    {"data": {"name": "gauss", "noise": 0.1},
     "model": {"layers": [], "output_activation": "sigmoid"},
     "loss": "binary_crossentropy", "optimizer": {"name": "sgd", "learning_rate": 0.1}},
    100,
    "One sigmoid neuron trained on cross-entropy is logistic regression: it outputs the "
    "probability of the orange class, and its decision boundary is a straight line. It "
    "works on two Gaussian clouds and fails on the circle.",
), "A single sigmoid neuron with cross-entropy: a linear classifier.")
PRESETS.register("deep_relu_early_stopping", Preset(
    "Deep ReLU net with early stopping",
    {"data": {"name": "spiral", "noise": 0.2, "n": 1000, "train_fraction": 0.6,
              "val_fraction": 0.2, "standardize": True},
     "model": {"layers": [_dense(32, "relu")] * 4, "init": "he_normal"},
     "optimizer": {"name": "adam", "learning_rate": 0.005},
     "early_stopping": {"patience": 50}, "batch_size": 32},
    2000,
    "Four ReLU layers with He initialisation and standardised inputs learn the noisy "
    "spirals quickly. Early stopping watches the validation loss and keeps the weights "
    "from its best epoch, before the network starts memorising the noise.",
), "A deep He-initialised ReLU network, Adam, and early stopping on validation loss.")
PRESETS.register("noisy_spirals", Preset(
    "Over-fitting noisy spirals",
    {"data": {"name": "spiral", "noise": 0.35, "n": 300, "train_fraction": 0.5,
              "val_fraction": 0.25},
     "model": {"layers": [_dense(8, "relu"), _dense(8, "relu")]},
     "optimizer": {"name": "adam", "learning_rate": 0.01}, "batch_size": 16},
    400,
    "Few, noisy points and Adam: the training loss keeps falling while the validation loss "
    "turns back up once the network starts fitting the noise. Widen the layers and it "
    "happens sooner; the search page's width lesson sweeps it.",
), "Two ReLU layers on 150 noisy spiral points: watch validation loss turn up.")
PRESETS.register("dropout_spirals", Preset(
    "Dropout against over-fitting",
    {"data": {"name": "spiral", "noise": 0.35, "n": 300, "train_fraction": 0.5,
              "val_fraction": 0.25},
     "model": {"layers": [_dense(64, "relu"), {"type": "dropout", "rate": 0.2},
                          _dense(64, "relu"), {"type": "dropout", "rate": 0.2}]},
     "optimizer": {"name": "adam", "learning_rate": 0.01}, "batch_size": 16},
    400,
    "Two wide ReLU layers on few, noisy points: enough weights to memorise the noise. "
    "Dropout zeroes each hidden unit with probability 0.2 at every training step, so no "
    "unit can rely on particular others (Srivastava et al., 2014). Set the rate to 0: "
    "the validation loss turns up sooner and its lowest point is higher. At 0.6 the "
    "network underfits: even the training loss stays high. The search page's dropout "
    "lesson tries every rate at once.",
), "Two layers of 64 with dropout 0.2 on noisy spirals: a regulariser.")
PRESETS.register("softmax_3class", Preset(
    "Three-class softmax classifier",
    {"data": {"name": "blobs", "classes": 3, "noise": 0.3},
     "model": {"layers": [_dense(8, "relu")], "output_activation": "softmax",
               "init": "he_uniform"},
     "loss": "categorical_crossentropy", "optimizer": {"name": "adam", "learning_rate": 0.01},
     "batch_size": 16},
    150,
    "Three clusters, three output neurons and a softmax that turns their scores into "
    "probabilities summing to one. Cross-entropy pushes up the probability of each "
    "point's true class.",
), "A softmax output with categorical cross-entropy on three classes.")


def _deep(activation: str, init: str, norm: str = "none",
          residual: bool = False) -> dict[str, Any]:
    """Ten hidden layers of 32 on standardised spirals: the gradient-flow lessons.

    With ``residual``, layers 2 to 10 add their input to their output (the first
    maps the two inputs to 32 units, so it cannot).
    """
    first = {**_dense(32, activation), "norm": norm}
    rest = {**first, "residual": residual}
    return {"data": {"name": "spiral", "standardize": True},
            "model": {"layers": [first] + [rest] * 9, "init": init},
            "optimizer": {"name": "sgd", "learning_rate": 0.01}, "batch_size": 32}


PRESETS.register("vanishing_sigmoid", Preset(
    "Vanishing gradients: deep sigmoid",
    _deep("sigmoid", "glorot_uniform"),
    300,
    "Ten sigmoid layers. The sigmoid's slope is at most 0.25, and backpropagation multiplies "
    "one slope per layer, so the first layers get gradients thousands of times smaller than "
    "the last: they barely learn.",
    topic="gradients",
), "Ten sigmoid layers: the gradient shrinks layer by layer on its way back.")
PRESETS.register("exploding_normal_init", Preset(
    "Exploding gradients: large normal weights",
    _deep("tanh", "normal"),
    300,
    "Ten tanh layers whose weights start from N(0, 1), far too large for 32 inputs. Each "
    "layer multiplies the backward signal by a large weight matrix, so the gradient grows "
    "on its way to the first layers and training lurches.",
    topic="gradients",
), "Ten tanh layers with N(0, 1) weights: the gradient grows on its way back.")
PRESETS.register("healthy_he_relu", Preset(
    "Healthy gradients: He initialisation with ReLU",
    _deep("relu", "he_normal"),
    300,
    "The same depth with ReLU and He initialisation, whose variance 2 / fan_in keeps the "
    "signal's size from layer to layer: every layer gets a gradient of a similar size.",
    topic="gradients",
), "Ten ReLU layers with He init: gradients of similar size in every layer.")
PRESETS.register("sigmoid_batch_norm", Preset(
    "Batch norm rescues the deep sigmoid",
    _deep("sigmoid", "glorot_uniform", norm="batch_norm"),
    300,
    "The vanishing sigmoid network with batch norm in every layer. Normalising each layer's "
    "pre-activations keeps them where the sigmoid is steep, and undoes the shrinking of the "
    "signal, so the first layers get gradients at least as large as the last and learn.",
    topic="gradients",
), "The deep sigmoid network with batch norm: gradients reach the first layers.")
PRESETS.register("sigmoid_residual", Preset(
    "Residual connections rescue the deep sigmoid",
    _deep("sigmoid", "glorot_uniform", residual=True),
    300,
    "The vanishing sigmoid network with skip connections: each layer adds its input to its "
    "output, y = x + f(x W + b). The identity path carries the gradient back unchanged, so "
    "the first layer gets hundreds of times more gradient than without it.",
    topic="gradients",
), "The deep sigmoid network with residual connections: an identity path for gradients.")


def _seq(task: str, layers: list[dict[str, Any]], **data: Any) -> dict[str, Any]:
    """A sequence task with 2000 noise-free sequences, Adam and batches of 32."""
    return {"data": {"name": task, "n": 2000, "noise": 0.0, **data},
            "model": {"layers": layers},
            "optimizer": {"name": "adam", "learning_rate": 0.01}, "batch_size": 32}


_TRANSFORMER = [{"type": "embedding", "dim": 32}, {"type": "positional"},
                {"type": "transformer", "heads": 4, "mlp": 64},
                {"type": "transformer", "heads": 4, "mlp": 64}]

PRESETS.register("reverse_transformer", Preset(
    "Transformer reverses a string",
    {**_seq("reverse", _TRANSFORMER), "optimizer": {"name": "adam", "learning_rate": 0.003}},
    30,
    "Two transformer blocks with four attention heads read six digits and write them "
    "backwards. Watch the attention maps: each output step learns to look at the mirrored "
    "input position, an anti-diagonal line.",
    topic="sequences",
), "Embedding, positions and two transformer blocks on string reversal.")
PRESETS.register("reverse_lstm", Preset(
    "LSTM reverses a string",
    _seq("reverse", [{"type": "lstm", "units": 64}]),
    30,
    "One LSTM reads the digits one by one and must keep all of them in its cell state "
    "until the separator, then write them out last-first. It learns, but more slowly than "
    "attention, which can look back at any position directly.",
    topic="sequences",
), "An LSTM on string reversal: memory in the cell state.")
PRESETS.register("adding_lstm", Preset(
    "LSTM solves the adding problem",
    _seq("adding", [{"type": "lstm", "units": 16, "sequences": False}], length=50),
    30,
    "Fifty random numbers, two of them marked: output their sum. The answer depends on "
    "steps far apart, so the gradient must travel back through many time steps. The LSTM's "
    "cell state carries it almost unchanged, and the loss falls to nearly zero.",
    topic="sequences",
), "Long-range memory: an LSTM adds two marked numbers out of fifty.")
PRESETS.register("adding_rnn", Preset(
    "A simple RNN fails the adding problem",
    _seq("adding", [{"type": "rnn", "units": 16, "sequences": False}], length=50),
    30,
    "The same task with a simple tanh RNN. Its gradient through time shrinks at every step "
    "(vanishing gradients through time), so it never links the answer to the marked numbers "
    "and predicts about their average sum: the loss stays near 1/6.",
    topic="sequences",
), "The same adding problem with a simple RNN: vanishing gradients through time.")
PRESETS.register("parity_gru", Preset(
    "GRU counts bits (parity)",
    _seq("parity", [{"type": "gru", "units": 16, "sequences": False}]),
    30,
    "Is the number of ones in an 8-bit string odd? The GRU must flip one bit of memory at "
    "every 1 it reads: a tiny state machine, learned from examples.",
    topic="sequences",
), "A GRU learns parity: a one-bit state machine.")
PRESETS.register("sentiment_gru", Preset(
    "Sentiment with negation",
    _seq("sentiment", [{"type": "embedding", "dim": 16},
                       {"type": "gru", "units": 16, "sequences": False}]),
    20,
    "Short reviews from a tiny vocabulary, where 'not' flips the next polar word: 'not good' "
    "is negative. Word embeddings plus a GRU learn the words' polarities and the negation.",
    topic="sequences",
), "Word embeddings and a GRU on sentences with negation.")
PRESETS.register("sort_transformer", Preset(
    "Transformer sorts digits",
    {**_seq("sort", _TRANSFORMER), "optimizer": {"name": "adam", "learning_rate": 0.003}},
    30,
    "The same transformer learns to write the digits in ascending order. Each output step "
    "must find the next-smallest digit anywhere in the input: attention spreads over all of "
    "them instead of looking at one mirrored position.",
    topic="sequences",
), "Two transformer blocks learn to sort six digits.")
PRESETS.register("copy_gru", Preset(
    "GRU copies a string",
    _seq("copy", [{"type": "gru", "units": 64}]),
    30,
    "A GRU reads six digits and writes them again after the separator: each output is the "
    "input seven steps earlier, so the state must hold the whole string like a queue.",
    topic="sequences",
), "A GRU on the copy task: memory over a fixed delay.")
PRESETS.register("count_gru", Preset(
    "GRU keeps a running count",
    _seq("count", [{"type": "gru", "units": 16}]),
    20,
    "At every step, how many ones so far? The GRU learns to add one to its state at each "
    "1 and keep it otherwise: a counter built from gates.",
    topic="sequences",
), "A GRU counts the ones it has read, step by step.")
PRESETS.register("recall_transformer", Preset(
    "Transformer looks up a key (associative recall)",
    {**_seq("recall", [*_TRANSFORMER, {"type": "pool", "mode": "last"}], n=4000, length=3),
     "optimizer": {"name": "adam", "learning_rate": 0.003}},
    60,
    "Pairs like 'b 3 a 7 c 1', then '? a': answer 7. The last step's attention learns to "
    "find the queried key and read the digit after it: a lookup table built from attention, "
    "the mechanism behind in-context learning.",
    topic="sequences",
), "Associative recall: attention finds the key and reads its value.")
PRESETS.register("sine_rnn", Preset(
    "RNN predicts a sine wave",
    _seq("sine_wave", [{"type": "rnn", "units": 16}], noise=0.05),
    20,
    "Each step sees the current value of a noisy sine wave and predicts the next, clean one. "
    "From one value the direction is ambiguous, so the RNN must use its memory of the past.",
    topic="sequences",
), "Next-step prediction of a noisy sine wave with a simple RNN.")



def _images(name: str, layers: list[dict], n: int, learning_rate: float, batch: int,
            **data) -> dict[str, Any]:
    return {"data": {"name": name, "n": n, **data},
            "model": {"layers": layers, "output_activation": "softmax",
                      "init": "glorot_uniform"},
            "loss": "categorical_crossentropy",
            "optimizer": {"name": "adam", "learning_rate": learning_rate}, "batch_size": batch}


def _conv(filters: int, padding: str = "same") -> dict[str, Any]:
    return {"type": "conv2d", "filters": filters, "kernel": 3, "padding": padding,
            "activation": "relu"}


_MAX_POOL = {"type": "max_pool", "size": 2, "stride": 2}
PRESETS.register("mnist_mlp", Preset(
    "MLP on MNIST (the source material's PyTorch network)",
    _images("mnist", [{"type": "flatten"}, _dense(128, "relu"), _dense(64, "relu")], 20_000,
            0.001, 64),
    5,
    "Every pixel is an input: 784 numbers go through 128 and 64 ReLU units to ten class "
    "scores, and softmax turns them into probabilities. It reaches about 96% on digits it "
    "never saw, without knowing that neighbouring pixels belong together.",
    topic="images",
), "784 -> 128 -> 64 -> 10 ReLU MLP with Adam on MNIST.")
PRESETS.register("mnist_cnn", Preset(
    "CNN on MNIST (the source material's Keras network)",
    _images("mnist", [_conv(32, "valid"), {"type": "flatten"}, _dense(128, "relu")], 20_000,
            0.001, 32),
    5,
    "32 filters of 3 x 3 slide over the digit and each makes a feature map of the strokes "
    "it likes; a dense layer reads the maps. Sharing one small kernel across the image is "
    "what makes it better than the MLP: about 97.5% after five epochs.",
    topic="images",
), "Conv2D 32 3x3 -> Flatten -> Dense 128 -> softmax, Adam, batch 32, 5 epochs.")
PRESETS.register("tiny_vgg", Preset(
    "Tiny VGG on MNIST (CNN Explainer's layout)",
    _images("mnist", [_conv(8), _conv(8), _MAX_POOL, _conv(8), _conv(8), _MAX_POOL,
                      {"type": "flatten"}], 10_000, 0.003, 32),
    5,
    "Two blocks of two convolutions and a max pool, as in CNN Explainer's Tiny VGG, sized "
    "to train live. Early maps find edges, later ones parts of digits, and each pool halves "
    "the picture so deeper filters see more of it.",
    topic="images",
), "conv-conv-pool-conv-conv-pool-dense with 8 filters each, trained live.")
PRESETS.register("softmax_regression", Preset(
    "Softmax regression on pixels",
    _images("mnist", [{"type": "flatten"}], 20_000, 0.003, 64),
    5,
    "No hidden layer: each class score is a weighted sum of the 784 pixels. Its weights, "
    "drawn as images, look like blurry templates of each digit. A baseline near 92% that "
    "every hidden layer has to beat.",
    topic="images",
), "One linear layer over the pixels with softmax: the baseline.")
PRESETS.register("shapes_cnn", Preset(
    "Tiny CNN on shapes",
    _images("shapes", [_conv(4), _MAX_POOL, _conv(8), {"type": "global_avg_pool"}], 1_000,
            0.01, 32, noise=0.1, train_fraction=0.7),
    30,
    "Lines, crosses, circles and squares in seconds: watch the first layer's four kernels "
    "turn into edge detectors (light on one side, dark on the other) and the feature maps "
    "light up along the strokes they find.",
    topic="images",
), "Two small convolutions learn four shapes in seconds.")


# The movie-review presets live in their own file for size; they join the sequences here.
presets_text.register(PRESETS, Preset)


def preset(name: str) -> Spec:
    """The validated ``Spec`` of preset ``name`` (``SpecError`` if unknown)."""
    return Spec.from_dict(PRESETS.get(name, "preset").spec)

