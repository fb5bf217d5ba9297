"""What the images page draws: inside a CNN for one picture, and its test-set report.

For one picture (a test image chosen by a traced index, or one the user drew): every
convolution's and pool's feature maps, every convolution's kernels, the class
probabilities and the saliency, ``|d score / d pixel|`` of the predicted class
(Simonyan, Vedaldi and Zisserman, 2014). Over the test set (``TestReport``): the
confusion matrix, each class's accuracy and the most confidently wrong pictures.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from engine.model import Network, apply_network, featurize

MAP_KINDS = ("conv2d", "max_pool", "avg_pool")
"""Layer kinds whose outputs are feature maps (H', W', C')."""

WRONG_SHOWN = 12
"""Most confidently wrong test pictures a report lists."""


class ImageProbes(NamedTuple):
    """One picture seen by a network (C = its channels, K = the output's units).

    Attributes:
        image: the picture's pixels in [0, 1], (H, W, C).
        maps: per layer of ``MAP_KINDS``, in order, its output (H', W', C').
        kernels: per ``conv2d`` layer, in order, its kernels (k, k, C_in, C_out).
        probs: the output after its activation, (K,) (class probabilities after softmax).
        saliency: max over channels of |d score / d pixel| for the predicted class, (H, W).
        predicted: the predicted class (int32).
    """

    image: jax.Array
    maps: list[jax.Array]
    kernels: list[jax.Array]
    probs: jax.Array
    saliency: jax.Array
    predicted: jax.Array


class TestReport(NamedTuple):
    """How a classifier does on the test set (K classes).

    Attributes:
        confusion: (K, K) counts: row = true class, column = predicted.
        class_accuracy: (K,) share right per true class (NaN for a class with no image).
        wrong: (WRONG_SHOWN,) test indices of the most confidently wrong pictures,
            most confident first; -1 pads when fewer are wrong.
        wrong_predicted: (WRONG_SHOWN,) what the network said for each.
        wrong_confidence: (WRONG_SHOWN,) its probability for that class.
    """

    confusion: jax.Array
    class_accuracy: jax.Array
    wrong: jax.Array
    wrong_predicted: jax.Array
    wrong_confidence: jax.Array


def image_probes(net: Network, params: list[dict], mstate: list[dict], data: Any,
                 values: Any) -> ImageProbes:
    """Probe one picture: ``values.view.image`` when ``values.view.drawn``, else test
    image ``values.view.example``."""
    view = values.view
    i = jnp.clip(view.example, 0, data.x_test.shape[0] - 1)
    image = jnp.where(view.drawn, view.image, data.x_test[i])  # (H, W, C)

    def score(img):
        h = featurize(net, img[None], data.mean, data.std)
        z, o, _, outs = apply_network(net, params, mstate, h, values, key=None, train=False,
                                      collect=True)
        pred = jnp.argmax(z[0]) if z.shape[-1] > 1 else (z[0, 0] > 0).astype(jnp.int32)
        # The predicted class's score (its logit; for one sigmoid unit, +-z).
        s = z[0, pred] if z.shape[-1] > 1 else jnp.where(pred == 1, z[0, 0], -z[0, 0])
        return s, (o[0], outs, pred)

    grad, (probs, outs, pred) = jax.grad(score, has_aux=True)(image)
    maps = [out[0] for layer, out in zip(net.layers, outs, strict=True)
            if layer.type in MAP_KINDS]
    kernels = [p["w"] for layer, p in zip(net.layers, params, strict=False)
               if layer.type == "conv2d"]
    return ImageProbes(image, maps, kernels, probs, jnp.max(jnp.abs(grad), axis=-1),
                       pred.astype(jnp.int32))


def test_report(probs: jax.Array, labels: jax.Array, n_classes: int,
                mask: jax.Array | None = None, offset: Any = 0) -> TestReport:
    """The report from the test set's outputs ``probs`` (n, K) and labels (n,).

    ``mask`` (n,) bool, when given, keeps only the test set's rows, which start at row
    ``offset`` (a padded network's data); the indices reported count from there.
    Slots without a wrong example hold index -1, prediction 0 and confidence 0.
    """
    if probs.shape[-1] == 1:  # one sigmoid unit: P(class 1)
        probs = jnp.concatenate([1.0 - probs, probs], axis=-1)
    pred = jnp.argmax(probs, -1).astype(jnp.int32)
    conf = jnp.max(probs, -1)
    k = n_classes
    one = jnp.int32(1) if mask is None else mask.astype(jnp.int32)
    confusion = jnp.zeros((k, k), jnp.int32).at[labels, pred].add(one)
    per_class = jnp.diag(confusion) / jnp.sum(confusion, axis=1)  # NaN for an empty class
    wrong = pred != labels
    if mask is not None:
        wrong = wrong & mask
    order = jnp.argsort(-jnp.where(wrong, conf, -1.0))[:WRONG_SHOWN]
    valid = wrong[order]
    pad = WRONG_SHOWN - order.shape[0]  # fewer test pictures than slots: -1 fills them
    return TestReport(confusion, per_class,
                      jnp.pad(jnp.where(valid, order - offset, -1), (0, pad),
                              constant_values=-1).astype(jnp.int32),
                      jnp.pad(jnp.where(valid, pred[order], 0), (0, pad)),
                      jnp.pad(jnp.where(valid, conf[order], 0.0), (0, pad)))
