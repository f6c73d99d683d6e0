/** The portal's three ways in: a session key, a technician picked by name, the issue form. */

import { useEffect, useRef, useState } from "preact/hooks";
import { api, call, type CustomerStart, type PortalFront as Front, type Technician } from "../api/client";
import { useI18n } from "../i18n";
import { useAction } from "../shared/hooks";
import { ErrorNotice, Field, fieldError, Notice } from "../shared/ui";
import { formatKeyInput } from "./portal";
import { TechnicianCard } from "./TechnicianCard";

export function PortalFront({
  front,
  slug,
  linkKey,
  onStarted,
}: {
  front: Front;
  slug: string | null;
  linkKey: string | null;
  onStarted: (start: CustomerStart) => void;
}) {
  const { t } = useI18n();
  if (!front.remote_support_enabled) {
    return (
      <Notice kind="warning" testid="portal-unavailable">
        {t("portal.unavailable", { organisation: front.organisation_name })}
      </Notice>
    );
  }
  return (
    <>
      <KeyEntry slug={slug} linkKey={linkKey} onStarted={onStarted} />
      <div class="portal-grid">
        <PickTechnician front={front} slug={slug} onStarted={onStarted} />
        <IssueForm front={front} slug={slug} onStarted={onStarted} />
      </div>
    </>
  );
}

/** The key form alone: what an address without a portal of its own offers (the server's root
 * when it holds several organisations, an unknown address). A key finds its own portal. */
export function KeyEntry({
  slug,
  linkKey,
  onStarted,
}: {
  slug: string | null;
  linkKey: string | null;
  onStarted: (start: CustomerStart) => void;
}) {
  const { t } = useI18n();
  const [key, setKey] = useState(() => (linkKey ? formatKeyInput(linkKey) : ""));
  const action = useAction();
  const tried = useRef<string | null>(null);

  const enter = (typed: string) =>
    void action.run(async () => {
      onStarted(await call(api.POST("/api/v1/portal/keys", { body: { key: typed, portal: slug } })));
    });

  const enterLatest = useRef(enter);
  enterLatest.current = enter;

  // The key's unique link enters the key by itself, once.
  useEffect(() => {
    if (linkKey && tried.current !== linkKey) {
      tried.current = linkKey;
      setKey(formatKeyInput(linkKey));
      enterLatest.current(linkKey);
    }
  }, [linkKey]);

  return (
    <section class="card portal-key" aria-labelledby="portal-key-title">
      <h2 id="portal-key-title">{t("portal.key.title")}</h2>
      <p class="muted">{t("portal.key.intro")}</p>
      <form
        class="inline-form"
        data-testid="session-key-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (key.trim()) enter(key);
        }}
      >
        <Field label={t("portal.key.label")}>
          <input
            name="key"
            autoComplete="off"
            autoCapitalize="characters"
            spellcheck={false}
            required
            maxLength={64}
            placeholder="ABCD-EFGH-JKMN"
            value={key}
            data-testid="session-key-input"
            onInput={(event) => {
              setKey(formatKeyInput(event.currentTarget.value));
              action.clear();
            }}
          />
        </Field>
        <button type="submit" class="button button-primary" disabled={action.busy} data-testid="session-key-submit">
          {action.busy ? t("portal.key.checking") : t("portal.key.submit")}
        </button>
      </form>
      <ErrorNotice error={action.error} testid="session-key-message" />
    </section>
  );
}

function PickTechnician({
  front,
  slug,
  onStarted,
}: {
  front: Front;
  slug: string | null;
  onStarted: (start: CustomerStart) => void;
}) {
  const { t } = useI18n();
  const [chosen, setChosen] = useState<Technician | null>(null);
  const [name, setName] = useState("");
  const action = useAction();

  const start = (event: Event) => {
    event.preventDefault();
    if (!chosen) return;
    void action.run(async () => {
      onStarted(
        await call(
          api.POST("/api/v1/portal/technicians", {
            body: { technician_id: chosen.id, customer_name: name.trim(), portal: slug },
          }),
        ),
      );
    });
  };

  return (
    <section class="card" aria-labelledby="portal-technician-title" data-testid="portal-technicians">
      <h2 id="portal-technician-title">{t("portal.technician.title")}</h2>
      {front.technicians.length === 0 ? (
        <p class="muted" data-testid="portal-technicians-empty">
          {t("portal.technician.none")}
        </p>
      ) : (
        <>
          <p class="muted">{t("portal.technician.intro")}</p>
          <ul class="technician-list">
            {front.technicians.map((technician) => (
              <li key={technician.id}>
                <button
                  type="button"
                  class={chosen?.id === technician.id ? "technician-choice selected" : "technician-choice"}
                  aria-pressed={chosen?.id === technician.id}
                  data-testid="portal-technician"
                  onClick={() => {
                    setChosen(technician);
                    action.clear();
                  }}
                >
                  <TechnicianCard technician={technician} compact />
                </button>
              </li>
            ))}
          </ul>
          {chosen && (
            <form onSubmit={start} class="pick-form" data-testid="portal-technician-form">
              <Field
                label={t("portal.your_name")}
                hint={t("portal.technician.name_hint", { name: chosen.name })}
                error={fieldError(t, action.error, "customer_name")}
              >
                <input
                  required
                  maxLength={200}
                  autoComplete="name"
                  value={name}
                  data-testid="portal-technician-customer-name"
                  onInput={(event) => setName(event.currentTarget.value)}
                />
              </Field>
              <ErrorNotice error={action.error} shown={["customer_name"]} />
              <button type="submit" class="button button-primary" disabled={action.busy} data-testid="portal-technician-start">
                {t("portal.technician.start", { name: chosen.name })}
              </button>
            </form>
          )}
        </>
      )}
    </section>
  );
}

function IssueForm({
  front,
  slug,
  onStarted,
}: {
  front: Front;
  slug: string | null;
  onStarted: (start: CustomerStart) => void;
}) {
  const { t } = useI18n();
  const [issueType, setIssueType] = useState("");
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const action = useAction();

  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      onStarted(
        await call(
          api.POST("/api/v1/portal/issues", {
            body: {
              issue_type_id: Number(issueType),
              customer_name: name.trim(),
              description: description.trim(),
              portal: slug,
            },
          }),
        ),
      );
    });
  };

  return (
    <section class="card" aria-labelledby="portal-issue-title" data-testid="portal-issue">
      <h2 id="portal-issue-title">{t("portal.issue.title")}</h2>
      {front.issue_types.length === 0 ? (
        <p class="muted" data-testid="portal-issue-empty">
          {t("portal.issue.none")}
        </p>
      ) : (
        <form onSubmit={submit} data-testid="portal-issue-form">
          <p class="muted">{t("portal.issue.intro")}</p>
          <Field label={t("portal.issue.type")} error={fieldError(t, action.error, "issue_type_id")}>
            <select required value={issueType} data-testid="portal-issue-type" onChange={(event) => setIssueType(event.currentTarget.value)}>
              <option value="" disabled>
                {t("portal.issue.choose")}
              </option>
              {front.issue_types.map((type) => (
                <option key={type.id} value={type.id}>
                  {type.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t("portal.your_name")} error={fieldError(t, action.error, "customer_name")}>
            <input
              required
              maxLength={200}
              autoComplete="name"
              value={name}
              data-testid="portal-issue-name"
              onInput={(event) => setName(event.currentTarget.value)}
            />
          </Field>
          <Field label={t("portal.issue.description")} hint={t("portal.issue.description_hint")}>
            <textarea
              rows={4}
              dir="auto"
              maxLength={4000}
              class="text-prose"
              value={description}
              data-testid="portal-issue-description"
              onInput={(event) => setDescription(event.currentTarget.value)}
            />
          </Field>
          <ErrorNotice error={action.error} shown={["customer_name", "issue_type_id"]} />
          <button type="submit" class="button button-primary" disabled={action.busy} data-testid="portal-issue-submit">
            {t("portal.issue.submit")}
          </button>
        </form>
      )}
    </section>
  );
}
