"""Jump policies per Jump group or device (UNA-6, issue 13 item 7). Thin: the rules are in
domain/jump_policies.py."""

from fastapi import Response
from starlette.status import HTTP_204_NO_CONTENT

from relaydesk.server.api import jump_schemas as j
from relaydesk.server.api.deps import CurrentActor, Db
from relaydesk.server.api.routers import api_router
from relaydesk.server.api.schemas import Id
from relaydesk.server.domain import jump_policies

router = api_router("", tags=["jump policies"])


def _input(body: j.JumpPolicyIn) -> jump_policies.PolicyInput:
    return jump_policies.PolicyInput(
        prompt=body.prompt,
        when_nobody_answers=body.when_nobody_answers,
        answer_seconds=body.answer_seconds,
        schedule_timezone=body.schedule_timezone,
        schedule_windows=[w.model_dump() for w in body.schedule_windows],
    )


@router.get("/jump-policies", response_model=list[j.JumpPolicyOut])
async def list_policies(db: Db, actor: CurrentActor) -> list[j.JumpPolicyOut]:
    """The policies of the Jump groups and devices you manage."""
    return [j.policy_out(p) for p in await jump_policies.list_policies(db, actor)]


@router.put("/jump-policies/groups/{group_id}", response_model=j.JumpPolicyOut)
async def set_group_policy(
    group_id: Id, body: j.JumpPolicyIn, db: Db, actor: CurrentActor
) -> j.JumpPolicyOut:
    return j.policy_out(await jump_policies.set_for_group(db, actor, group_id, _input(body)))


@router.delete("/jump-policies/groups/{group_id}", status_code=204)
async def remove_group_policy(group_id: Id, db: Db, actor: CurrentActor) -> Response:
    await jump_policies.remove_for_group(db, actor, group_id)
    return Response(status_code=HTTP_204_NO_CONTENT)


@router.put("/devices/{device_id}/jump-policy", response_model=j.JumpPolicyOut)
async def set_device_policy(
    device_id: Id, body: j.JumpPolicyIn, db: Db, actor: CurrentActor
) -> j.JumpPolicyOut:
    """The device's own policy, which wins over its Jump group's."""
    return j.policy_out(await jump_policies.set_for_device(db, actor, device_id, _input(body)))


@router.delete("/devices/{device_id}/jump-policy", status_code=204)
async def remove_device_policy(device_id: Id, db: Db, actor: CurrentActor) -> Response:
    """The device follows its Jump group's policy again."""
    await jump_policies.remove_for_device(db, actor, device_id)
    return Response(status_code=HTTP_204_NO_CONTENT)
