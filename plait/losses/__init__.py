"""Training losses for ColBERT models (PyLate-compatible names and arguments).

Each loss is an ``nn.Module`` with ``forward(sentence_features, labels)``, so the stock
sentence-transformers trainer runs it unchanged.
"""

from plait.losses.cached_contrastive import CachedContrastive
from plait.losses.contrastive import Contrastive
from plait.losses.distillation import Distillation
from plait.losses.teacher import TeacherContrastive

__all__ = ["CachedContrastive", "Contrastive", "Distillation", "TeacherContrastive"]
