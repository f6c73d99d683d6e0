from relaydesk import __version__
from relaydesk.server.api import schemas
from relaydesk.server.api.routers import api_router

router = api_router(tags=["health"])


@router.get("/health", response_model=schemas.Health)
async def health() -> schemas.Health:
    return schemas.Health(status="ok", version=__version__)
