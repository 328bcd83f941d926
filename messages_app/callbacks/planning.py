"""Planning callbacks at import time, inside the ingest service's write.

Resolution happens before the batch's locks are taken, so that a refused URL becomes a
``CALLBACK_REFUSED`` warning on the response; the deliveries are inserted (one bulk
insert) and their task enqueued (``tasks.enqueue_deliveries``) in the import's own transaction, so a rolled-back
import (dryRun included) sends nothing and a committed one always sends. Planning
returns its refusals; the ingest service puts them on its response.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from ..errors import UNSTORABLE_RE, Problem, WarningCode
from ..models import ApiClient, CallbackDelivery, ImportBatch
from ..wire import ITEMS_PATH
from .policy import CallbackRefused, resolve_callback_url


@dataclass(frozen=True)
class PlannedCallback:
    """A callback accepted for a batch: ``index`` is None for the request-level one."""

    url: str
    index: int | None
    source_uuid: str


@dataclass
class CallbackPlan:
    """The callbacks a batch will send, and the refusals to report: ``(item index, warning)``,
    the index None for the request-level ``callBackPathUrl``."""

    callbacks: list[PlannedCallback] = field(default_factory=list)
    refusals: list[tuple[int | None, Problem]] = field(default_factory=list)


def plan_callbacks(
    client: ApiClient | None, request_url: str | None, items: list[Any], source_uuids: list[str | None]
) -> CallbackPlan:
    """Resolve the request's and the items' callback URLs; a refusal is returned as a warning.

    ``source_uuids`` are the items' sourceUuids as the response reports them. Every item
    that names a callback gets its ``saveMessageResponse`` there, a refused one (failed
    validation) included: that is when the integration most needs to hear.
    """
    plan = CallbackPlan()
    cache: dict[str, str | CallbackRefused] = {}

    def resolve(value: Any) -> str:
        key = value if isinstance(value, str) else repr(value)
        if key not in cache:
            try:
                cache[key] = resolve_callback_url(client, value)
            except CallbackRefused as exc:
                cache[key] = exc
        found = cache[key]
        if isinstance(found, CallbackRefused):
            raise found
        return found

    if request_url:
        try:
            plan.callbacks.append(PlannedCallback(resolve(request_url), None, ""))
        except CallbackRefused as exc:
            plan.refusals.append((None, Problem(WarningCode.CALLBACK_REFUSED, "callBackPathUrl", str(exc))))
    for index, raw in enumerate(items):
        value = raw.get("callBackPathUrl") if isinstance(raw, dict) else None
        if not value or not isinstance(value, str) or UNSTORABLE_RE.search(value):
            continue
        try:
            plan.callbacks.append(PlannedCallback(resolve(value), index, source_uuids[index] or ""))
        except CallbackRefused as exc:
            path = f"{ITEMS_PATH}[{index}].callBackPathUrl"
            plan.refusals.append((index, Problem(WarningCode.CALLBACK_REFUSED, path, str(exc))))
    return plan


def schedule_callbacks(planned: list[PlannedCallback], batch: ImportBatch, response: dict[str, Any]) -> list[int]:
    """Insert the deliveries (one query) in the caller's transaction; return their ids for
    the caller to enqueue (``tasks.enqueue_deliveries``) in the same transaction.

    ``response`` is the batch's response envelope: a request-level callback gets all of it,
    an item's callback its ``saveMessageResponse`` entry.
    """
    if not planned or batch.client is None:
        return []
    deliveries = CallbackDelivery.objects.bulk_create(
        [
            CallbackDelivery(
                department_id=batch.department_id,
                batch=batch,
                client=batch.client,
                kind=CallbackDelivery.Kind.REQUEST if plan.index is None else CallbackDelivery.Kind.ITEM,
                source_uuid=plan.source_uuid,
                url=plan.url,
                payload=response if plan.index is None else response["saveMessageResponse"][plan.index],
                webhook_id=f"msg_{uuid.uuid4().hex}",
            )
            for plan in planned
        ]
    )
    return [delivery.pk for delivery in deliveries]
