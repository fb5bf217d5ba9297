"""The colours every picture uses, in one place for Python and JavaScript.

TensorFlow Playground's convention: orange is negative (class 0), blue positive
(class 1); more classes take matplotlib's tab10 colours. The views' script gets
these as ``PALETTE`` (see ``assets/common.js``).
"""

from __future__ import annotations

import json

NEG = (245, 147, 34)  # orange: negative values, class 0
POS = (8, 119, 189)  # blue: positive values, class 1
MID = (232, 234, 235)  # zero, the background of diverging colours
CLASSES = ((245, 147, 34), (8, 119, 189), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))
TRAIN, TEST, VAL = "#555555", "#f59322", "#0877bd"  # loss curves
RED, PURPLE, GREEN, GREY = "#d62728", "#7b4fc9", "#2ca02c", "#999999"


def as_json() -> str:
    """The palette as a JSON object (colours as [r, g, b] lists or CSS strings)."""
    return json.dumps({"NEG": NEG, "POS": POS, "MID": MID, "CLASSES": CLASSES,
                       "TRAIN": TRAIN, "TEST": TEST, "VAL": VAL, "RED": RED,
                       "PURPLE": PURPLE, "GREEN": GREEN, "GREY": GREY, "BLUE": "#0877bd",
                       "ORANGE": "#f59322"})
