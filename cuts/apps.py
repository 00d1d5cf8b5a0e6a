from django.apps import AppConfig


class CutsConfig(AppConfig):
    """Cut review on the timeline: add, remove and move cuts, re-run the scenes they touch."""

    name = "cuts"
    default_auto_field = "django.db.models.BigAutoField"
