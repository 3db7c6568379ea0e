from django.contrib import admin

from reports.models import BenchmarkRange


@admin.register(BenchmarkRange)
class BenchmarkRangeAdmin(admin.ModelAdmin):
    list_display = ("source", "low_percent", "high_percent")
    list_editable = ("low_percent", "high_percent")
