"""REST endpoints. Thin: check the request, call the ingest service, answer."""

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from .. import wire
from ..addresses import client_address
from ..collector import collector_paused
from ..enums import ApiScope, ImportSource
from ..errors import UNSTORABLE_RE, InvalidPathParameter, InvalidQueryParameter, Problem
from ..identifiers import IDENTIFIER_RULE
from ..ingest import ingest_identical_resend, ingest_messages, request_digest
from ..logcontext import bind
from ..models import ApiClientGrant, Customer, Department, Message
from ..routing import replica_reads, writer_key
from ..selectors import message_record, messages_with_parts
from .filters import MessageFilterSet
from .pagination import MessageCursorPagination
from .parsers import raw_json_body, read_unsized_body
from .paths import identifier_problem, undecodable_query_parameter
from .renderers import EnvelopeRenderer

_TRUE, _FALSE = {"true", "1"}, {"false", "0", ""}


def query_flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name)
    if value is None:
        return False
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise InvalidQueryParameter("Expected true or false.", path=name)


def take_items(request: Request) -> tuple[list[Any], str | None, list[Problem]]:
    """The PUT body's items, callback URL and warnings, detached from the request.

    DRF's Request is part of a reference cycle (its parser context points back at it), so
    what it holds is freed only by the cyclic garbage collector, which then walks every
    object of a 1.5 MB body. Detached, the items are freed by reference counting as soon
    as the view returns.
    """
    body = request.data
    parsed = wire.parse_request(body, max_items=settings.MAX_MESSAGES_PER_REQUEST)
    body.clear()
    return parsed


_ERROR_TEXTS = {
    400: "Malformed request, invalid path or query parameter.",
    401: "Missing or invalid credentials.",
    403: "No grant with the needed scope for this department.",
    404: "No such message for this customer.",
    405: "Method not allowed.",
    406: "Only JSON is served.",
    411: "A body without Content-Length that this server cannot read to its end.",
    413: "Too many messages or body too large.",
    415: "Content-Type is not application/json.",
    429: "Too many failed logins (see Retry-After).",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error answers, all in the seed's envelope."""
    return {
        code: OpenApiResponse(wire.SaveMessagesResponseSerializer, description=_ERROR_TEXTS[code])
        for code in (*codes, 405, 406)
    }


_PERCENT_ENCODED = (
    "Percent-encoded in the path: every character other than A-Z a-z 0-9 - . _ ~ as its UTF-8 bytes, "
    '"/" included (%2F), so base64 identifiers work (Ab+/c= is Ab%2B%2Fc%3D). Decoded, it must be UTF-8 '
    f"and {IDENTIFIER_RULE}; it is used exactly as decoded."
)
PATH_IDENTIFIERS = {
    "departmentUUID": "The department.",
    "customerUUID": "The customer within the department.",
    "messageUuid": "The message (its messageUuid).",
}


def path_parameters(*names: str) -> list[OpenApiParameter]:
    """The OpenAPI description of the path's identifiers: how they are encoded."""
    return [
        OpenApiParameter(name, str, OpenApiParameter.PATH, description=f"{PATH_IDENTIFIERS[name]} {_PERCENT_ENCODED}")
        for name in names
    ]


class DepartmentScopedViewSet(viewsets.GenericViewSet):
    """Resolves the path's department through the client's grants.

    A client without the needed scope gets the same 403 whether or not the department
    exists, so the answer reveals nothing about other tenants.
    """

    required_scopes: dict[str, str] = {}
    department: Department

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        bind(client=request.auth.name)
        for name in PATH_IDENTIFIERS:
            problem = identifier_problem(kwargs[name]) if name in kwargs else None
            if problem is not None:
                raise InvalidPathParameter(problem, path=name)
        bind(department=kwargs["departmentUUID"])
        undecodable = undecodable_query_parameter(request.META.get("QUERY_STRING", ""))
        if undecodable is not None:
            raise InvalidQueryParameter("Not UTF-8 once percent-decoded.", path=undecodable)
        for name, values in request.query_params.lists():
            if UNSTORABLE_RE.search(name) or any(UNSTORABLE_RE.search(value) for value in values):
                raise InvalidQueryParameter("Contains NUL (\\u0000) or a lone surrogate.", path=name)
        scope = self.required_scopes.get(self.action)
        if scope is None:
            raise exceptions.MethodNotAllowed(request.method)
        # Authorisation reads the primary: the GET views allow replica reads only after it.
        grant = (
            ApiClientGrant.objects.select_related("department")
            .filter(client=request.auth, department__uuid=kwargs["departmentUUID"], scope=scope)
            .first()
        )
        if grant is None:
            raise exceptions.PermissionDenied(f"This client does not have the {scope} scope for this department.")
        self.department = grant.department


class HistoricalMessageViewSet(DepartmentScopedViewSet):
    """Historical messages of one customer of one department."""

    required_scopes = {
        "bulk_import": ApiScope.MESSAGE_CREATE,
        "list": ApiScope.MESSAGE_READ,
        "retrieve": ApiScope.MESSAGE_READ,
    }
    serializer_class = wire.SaveMessageRequestSerializer
    renderer_classes = [EnvelopeRenderer]
    filter_backends = [DjangoFilterBackend]
    filterset_class = MessageFilterSet
    pagination_class = MessageCursorPagination

    def get_queryset(self) -> QuerySet[Message]:
        if getattr(self, "swagger_fake_view", False):
            return Message.objects.none()
        # The customer's id first (one probe of its unique index), then its messages by that
        # id: with the id as a value, the planner knows how many messages the customer has
        # and walks the (customer, message_at, id) index from the cursor for a page of a
        # 20,000-message conversation, where a join would read and sort all of them (and
        # look the customer up by uuid without its department, scanning the customers).
        customer_id = (
            Customer.objects.filter(department=self.department, uuid=self.kwargs["customerUUID"])
            .values_list("pk", flat=True)
            .first()
        )
        if customer_id is None:
            return Message.objects.none()
        return messages_with_parts(
            Message.objects.filter(department=self.department, customer_id=customer_id),
            department_id=self.department.pk,
        )

    @extend_schema(
        operation_id="listHistoricalMessages",
        summary="List a customer's messages",
        description=(
            "The customer's messages in the PUT's item shape (with messageUuid), ordered by message time, "
            "cursor-paginated. Trashed and hidden messages only with includeTrashed / includeHidden. "
            "q searches the words of subject and body (full-text), combined with the other filters. "
            "Needs the message.read scope."
        ),
        parameters=path_parameters("departmentUUID", "customerUUID"),
        responses={200: wire.SaveMessageRequestSerializer(many=True), **error_responses(400, 401, 403, 429)},
    )
    def list(self, request: Request, departmentUUID: str, customerUUID: str) -> Response:
        with replica_reads(writer_key(request.auth)):
            page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
            return self.get_paginated_response([wire.to_wire(message_record(message)) for message in page])

    @extend_schema(
        operation_id="getHistoricalMessage",
        summary="Get one message",
        description="One message of the customer by its messageUuid. Needs the message.read scope.",
        parameters=path_parameters("departmentUUID", "customerUUID", "messageUuid"),
        responses={200: wire.SaveMessageRequestSerializer, **error_responses(400, 401, 403, 404, 429)},
    )
    def retrieve(self, request: Request, departmentUUID: str, customerUUID: str, messageUuid: str) -> Response:
        with replica_reads(writer_key(request.auth)):
            message = get_object_or_404(self.get_queryset(), message_uuid=messageUuid)
            return Response(wire.to_wire(message_record(message)))

    @extend_schema(
        operation_id="saveHistoricalMessages",
        summary="Import historical messages",
        description=(
            "Stores a batch of historical messages for one customer. Every item is validated on its own; "
            "valid items are stored (each with all its parts, or not at all), invalid ones are reported in "
            "`saveMessageResponse` in request order. Re-sending a `sourceUuid` updates the stored message in "
            "place (`MESSAGE_UPDATED`) or changes nothing (`MESSAGE_UNCHANGED`). Request-level errors (400, "
            "413, 415) use the same envelope and write nothing."
        ),
        request=wire.SaveMessagesRequestSerializer,
        parameters=[
            *path_parameters("departmentUUID", "customerUUID"),
            OpenApiParameter(
                "dryRun",
                bool,
                OpenApiParameter.QUERY,
                description="Validate and answer as the real call; write nothing.",
            ),
        ],
        responses={200: wire.SaveMessagesResponseSerializer, **error_responses(400, 401, 403, 411, 413, 415, 429)},
    )
    @collector_paused()
    def bulk_import(self, request: Request, departmentUUID: str, customerUUID: str) -> Response:
        dry_run = query_flag(request, "dryRun")
        if not request.content_type:
            raise exceptions.UnsupportedMediaType("", detail="A Content-Type of application/json is required.")
        read_unsized_body(request)
        body = None if dry_run else raw_json_body(request)
        digest = request_digest(body) if body is not None else None
        result = None
        if digest is not None:
            result = ingest_identical_resend(
                department=self.department,
                customer_uuid=customerUUID,
                request_digest=digest,
                client=request.auth,
                origin=client_address(request),
                max_items=settings.MAX_MESSAGES_PER_REQUEST,
            )
        if result is None:
            items, callback, warnings = take_items(request)
            result = ingest_messages(
                department=self.department,
                customer_uuid=customerUUID,
                items=items,
                source=ImportSource.API,
                client=request.auth,
                origin=client_address(request),
                callback_path_url=callback,
                request_warnings=warnings,
                dry_run=dry_run,
                request_digest=digest,
            )
        return Response(wire.EncodedEnvelope(result.as_response(), result.encoded_response()))
