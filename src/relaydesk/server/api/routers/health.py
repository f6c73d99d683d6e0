from fastapi import APIRouter

from relaydesk import __version__
from relaydesk.server.api import schemas

router = APIRouter(tags=["health"])


@router.get("/health", response_model=schemas.Health)
async def health() -> schemas.Health:
    return schemas.Health(status="ok", version=__version__)
