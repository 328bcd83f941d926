from django.apps import AppConfig


class MessagesAppConfig(AppConfig):
    name = "messages_app"
    verbose_name = "Historical communications"

    def ready(self) -> None:
        from .api import schema  # noqa: F401  (registers the OpenAPI extensions)
