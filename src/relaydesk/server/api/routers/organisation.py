"""Organisation settings (GOV-1, GOV-4)."""

from relaydesk.server.api import schemas
from relaydesk.server.api.deps import CurrentActor, Db
from relaydesk.server.api.routers import api_router
from relaydesk.server.domain import organisations
from relaydesk.server.domain.permissions import Permission

router = api_router("/organisation", tags=["organisation"])


@router.get("/settings", response_model=schemas.OrganisationSettings)
async def get_settings(db: Db, actor: CurrentActor) -> schemas.OrganisationSettings:
    actor.require(Permission.ADMINISTER)
    organisation = await organisations.get_organisation(db, actor.organisation_id)
    return schemas.OrganisationSettings.model_validate(organisation)


@router.patch("/settings", response_model=schemas.OrganisationSettings)
async def update_settings(
    body: schemas.OrganisationSettingsUpdate, db: Db, actor: CurrentActor
) -> schemas.OrganisationSettings:
    organisation = await organisations.update_settings(db, actor, schemas.present_fields(body))
    return schemas.OrganisationSettings.model_validate(organisation)
