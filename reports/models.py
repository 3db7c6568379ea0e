"""RevOps-editable benchmark ranges; everything else in reports is computed in SQL."""

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class BenchmarkRange(models.Model):
    """Typical lead -> opportunity conversion rate for a source (`overall` for all)."""

    source = models.CharField(_("source"), max_length=10, unique=True)
    low_percent = models.DecimalField(
        _("low %"), max_digits=5, decimal_places=2, validators=[MaxValueValidator(100)]
    )
    high_percent = models.DecimalField(
        _("high %"), max_digits=5, decimal_places=2, validators=[MaxValueValidator(100)]
    )

    class Meta:
        ordering = ["source"]
        verbose_name = _("benchmark range")
        verbose_name_plural = _("benchmark ranges")
        constraints = [
            models.CheckConstraint(
                condition=Q(low_percent__lte=models.F("high_percent")),
                name="benchmark_low_le_high",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}: {self.low_percent}–{self.high_percent} %"
