"""Pure update rules (CONTRACTS §2): factories returning ``Rule`` objects with ``init/step``.

One algorithm family per module; every factory takes keyword-only, validated hyperparameters.
"""

from .adagrad import adagrad, adanorm
from .adam import adam, rmsprop
from .amsgrad import amsgrad_code, amsgrad_paper
from .base import FunctionalRule, Rule, State, UpdateContext, wants_context
from .delay_adaptive import delay_adaptive_sgd
from .normalized import inexact_normalized, normalized
from .sgd import sgd
from .topk import topk, topk_mask

#: every factory, by name (the conformance tables iterate over this)
FACTORIES = {
    "sgd": sgd, "adagrad": adagrad, "adanorm": adanorm, "rmsprop": rmsprop, "adam": adam,
    "amsgrad_paper": amsgrad_paper, "amsgrad_code": amsgrad_code, "normalized": normalized,
    "inexact_normalized": inexact_normalized, "topk": topk,
    "delay_adaptive_sgd": delay_adaptive_sgd,
}

__all__ = ["FACTORIES", "FunctionalRule", "Rule", "State", "UpdateContext", "adagrad", "adam",
           "adanorm", "delay_adaptive_sgd", "wants_context",
           "amsgrad_code", "amsgrad_paper", "inexact_normalized", "normalized", "rmsprop", "sgd",
           "topk", "topk_mask"]
