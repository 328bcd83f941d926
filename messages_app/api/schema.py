"""OpenAPI extensions: describe our Basic authentication as the seed's ``basicAuth`` scheme."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiClientBasicAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "messages_app.api.authentication.ApiClientBasicAuthentication"
    name = "basicAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "API client name and secret (create_api_client), per-department grants.",
        }


def error_catalogue_markdown() -> str:
    """The error and warning codes as Markdown tables (API description and README)."""
    from ..errors import ErrorCode, WarningCode

    lines = ["| errorCode | meaning |", "|---|---|"]
    lines += [f"| `{code.value}` | {code.label} |" for code in ErrorCode]
    lines += ["", "| warningCode | meaning |", "|---|---|"]
    lines += [f"| `{code.value}` | {code.label} |" for code in WarningCode]
    return "\n".join(lines)


def add_error_catalogue(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: put the error-code catalogue in the API description."""
    info = result.setdefault("info", {})
    info["description"] = (
        f"{info.get('description', '')}\n\n## Error and warning codes\n\n"
        "`errorDescription` starts with the field path, e.g. "
        "`saveMessageRequestList[3].messageAttributes.purpose`; `errorUID` is unique per occurrence "
        "and written to the server log.\n\n" + error_catalogue_markdown()
    ).strip()
    return result
