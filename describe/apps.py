from django.apps import AppConfig


class DescribeConfig(AppConfig):
    name = "describe"
    verbose_name = "Audio description service"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from describe.jobs import DESCRIBE_JOBS
        from videoanalyzer.jobs import register

        register(DESCRIBE_JOBS)  # leased, and recovered after a crash
