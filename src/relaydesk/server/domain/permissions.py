"""The permission vocabulary (GOV-2) and the built-in roles."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    VIEW_SCREEN = "view_screen"
    FULL_CONTROL = "full_control"
    ELEVATION = "elevation"
    SHELL = "shell"
    FILE_UPLOAD = "file_upload"
    FILE_DOWNLOAD = "file_download"
    UNATTENDED_ACCESS = "unattended_access"
    MANAGE_DEVICES = "manage_devices"
    GENERATE_SESSION_KEYS = "generate_session_keys"
    INVITE_EXTERNAL_REPS = "invite_external_reps"
    TRANSFER_SHARE = "transfer_share"
    OVERRIDE_SCHEDULES = "override_schedules"
    AD_HOC_SUPPORT = "ad_hoc_support"
    ADMINISTER = "administer"


PERMISSION_KEYS = frozenset(p.value for p in Permission)

PERMISSION_LABELS: dict[Permission, str] = {
    Permission.VIEW_SCREEN: "View screen",
    Permission.FULL_CONTROL: "Full control (mouse and keyboard)",
    Permission.ELEVATION: "Elevation",
    Permission.SHELL: "Command shell",
    Permission.FILE_UPLOAD: "Upload files",
    Permission.FILE_DOWNLOAD: "Download files",
    Permission.UNATTENDED_ACCESS: "Unattended access",
    Permission.MANAGE_DEVICES: "Manage devices",
    Permission.GENERATE_SESSION_KEYS: "Generate session keys",
    Permission.INVITE_EXTERNAL_REPS: "Invite external technicians",
    Permission.TRANSFER_SHARE: "Transfer and share sessions",
    Permission.OVERRIDE_SCHEDULES: "Override jump schedules",
    Permission.AD_HOC_SUPPORT: "Ad hoc support",
    Permission.ADMINISTER: "Administer the organisation",
}

# Rights exercised on a device: a role assignment limited to device groups grants these only on
# devices in those groups (GOV-3). Administering the organisation and generating keys are not
# about one device; a key's device group is checked against the rights below instead.
DEVICE_PERMISSIONS = frozenset(
    {
        Permission.VIEW_SCREEN,
        Permission.FULL_CONTROL,
        Permission.ELEVATION,
        Permission.SHELL,
        Permission.FILE_UPLOAD,
        Permission.FILE_DOWNLOAD,
        Permission.UNATTENDED_ACCESS,
        Permission.MANAGE_DEVICES,
        Permission.INVITE_EXTERNAL_REPS,
        Permission.TRANSFER_SHARE,
        Permission.OVERRIDE_SCHEDULES,
    }
)

REMOTE_PERMISSIONS = [
    Permission.VIEW_SCREEN,
    Permission.FULL_CONTROL,
    Permission.ELEVATION,
    Permission.SHELL,
    Permission.FILE_UPLOAD,
    Permission.FILE_DOWNLOAD,
    Permission.UNATTENDED_ACCESS,
    Permission.GENERATE_SESSION_KEYS,
    Permission.INVITE_EXTERNAL_REPS,
    Permission.TRANSFER_SHARE,
    Permission.AD_HOC_SUPPORT,
]

# key → (name, description, permissions)
BUILTIN_ROLES: dict[str, tuple[str, str, list[Permission]]] = {
    "administrator": (
        "Administrator",
        "Everything, including the organisation's administration.",
        list(Permission),
    ),
    "helpdesk_operator": (
        "Help desk operator",
        "All remote support permissions, no administration.",
        REMOTE_PERMISSIONS,
    ),
    "viewer": (
        "Viewer",
        "Can view screens and ask for control.",
        [Permission.VIEW_SCREEN],
    ),
}
