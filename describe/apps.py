from django.apps import AppConfig


class DescribeConfig(AppConfig):
    name = "describe"
    verbose_name = "Audio description service"
    default_auto_field = "django.db.models.BigAutoField"
