"""Administration of users and their role assignments."""

from fastapi import Response
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from relaydesk.server.api import presenters, schemas
from relaydesk.server.api.deps import CurrentActor, Db
from relaydesk.server.api.routers import api_router
from relaydesk.server.domain import users

router = api_router("/users", tags=["users"])


@router.get("", response_model=list[schemas.UserOut])
async def list_users(db: Db, actor: CurrentActor) -> list[schemas.UserOut]:
    return await presenters.users(db, await users.list_users(db, actor))


@router.post("", response_model=schemas.UserCreated, status_code=HTTP_201_CREATED)
async def create_user(body: schemas.UserCreate, db: Db, actor: CurrentActor) -> schemas.UserCreated:
    user, initial_password = await users.create_user(db, actor, users.NewUser(**body.model_dump()))
    [out] = await presenters.users(db, [user])
    return schemas.UserCreated(user=out, initial_password=initial_password)


@router.get("/{user_id}", response_model=schemas.UserOut)
async def get_user(user_id: schemas.Id, db: Db, actor: CurrentActor) -> schemas.UserOut:
    [out] = await presenters.users(db, [await users.get_user(db, actor, user_id)])
    return out


@router.patch("/{user_id}", response_model=schemas.UserOut)
async def update_user(
    user_id: schemas.Id, body: schemas.UserUpdate, db: Db, actor: CurrentActor
) -> schemas.UserOut:
    changes = body.model_dump(exclude_unset=True)
    changes = {k: v for k, v in changes.items() if v is not None or k == "picture"}
    user = await users.update_user(db, actor, user_id, changes)
    [out] = await presenters.users(db, [user])
    return out


@router.post("/{user_id}/password-reset", response_model=schemas.PasswordReset)
async def reset_password(user_id: schemas.Id, db: Db, actor: CurrentActor) -> schemas.PasswordReset:
    """A new one-time password for the user; all his sign-ins and API tokens end."""
    return schemas.PasswordReset(initial_password=await users.reset_password(db, actor, user_id))


@router.delete("/{user_id}", status_code=HTTP_204_NO_CONTENT)
async def delete_user(user_id: schemas.Id, db: Db, actor: CurrentActor) -> Response:
    await users.delete_user(db, actor, user_id)
    return Response(status_code=HTTP_204_NO_CONTENT)


@router.post(
    "/{user_id}/role-assignments",
    response_model=schemas.RoleAssignmentOut,
    status_code=HTTP_201_CREATED,
)
async def assign_role(
    user_id: schemas.Id, body: schemas.RoleAssignmentCreate, db: Db, actor: CurrentActor
) -> schemas.RoleAssignmentOut:
    assignment = await users.assign_role_by_id(
        db, actor, user_id, body.role_id, body.scope == "all", body.device_group_ids
    )
    return presenters.role_assignment(assignment)


@router.delete("/{user_id}/role-assignments/{assignment_id}", status_code=HTTP_204_NO_CONTENT)
async def unassign_role(
    user_id: schemas.Id, assignment_id: schemas.Id, db: Db, actor: CurrentActor
) -> Response:
    await users.unassign_role(db, actor, user_id, assignment_id)
    return Response(status_code=HTTP_204_NO_CONTENT)
