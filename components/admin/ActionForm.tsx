'use client';

import { startTransition, useActionState, useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { IDLE, type ActionState } from '@/lib/admin/action-state';
import { DANGER_BUTTON, DANGER_SOLID_BUTTON, PRIMARY_BUTTON, SECONDARY_BUTTON } from './styles';

export type FormAction = (state: ActionState, form: FormData) => Promise<ActionState>;

export interface ActionFormProps {
  action: FormAction;
  /** Names the form for assistive technology (and tests): role="form" needs a name. */
  label: string;
  submitLabel: string;
  pendingLabel?: string;
  /** Destructive actions ask once more, inline, before they are sent. */
  confirm?: string;
  tone?: 'primary' | 'secondary' | 'danger';
  /** Clear the fields after a successful submission (create forms). */
  resetOnSuccess?: boolean;
  /** Lay fields and button out in a row (small inline forms in tables). */
  inline?: boolean;
  children?: ReactNode;
}

const BUTTONS = { primary: PRIMARY_BUTTON, secondary: SECONDARY_BUTTON, danger: DANGER_BUTTON } as const;

function StatusMessage({ state }: { state: ActionState }) {
  if (state.status === 'idle') return null;
  if (state.status === 'error') {
    return (
      <p role="alert" className="rounded-md border border-rose-200 bg-rose-50 px-3 py-2 text-sm text-rose-800">
        {state.message}
      </p>
    );
  }
  return (
    <div role="status" className="space-y-2 rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-900">
      <p>{state.message}</p>
      {state.secret ? <SecretValue label={state.secret.label} value={state.secret.value} /> : null}
    </div>
  );
}

function SecretValue({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="flex flex-wrap items-end gap-2">
      <label className="flex min-w-64 flex-1 flex-col gap-1 text-xs font-medium text-emerald-900">
        {label}
        <input readOnly value={value} onFocus={(event) => event.currentTarget.select()} className="rounded-md border border-emerald-300 bg-white px-3 py-2 font-mono text-sm text-slate-900" />
      </label>
      <button
        type="button"
        className={SECONDARY_BUTTON}
        onClick={() => {
          void navigator.clipboard?.writeText(value).then(() => setCopied(true));
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

/**
 * A form bound to a Server Action: shows the action's message (errors as alerts), disables
 * itself while the action runs, and keeps what was typed when the action refuses it.
 */
export function ActionForm({ action, label, submitLabel, pendingLabel, confirm, tone = 'primary', resetOnSuccess = false, inline = false, children }: ActionFormProps) {
  const [state, dispatch, pending] = useActionState(action, IDLE);
  const [confirming, setConfirming] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  useEffect(() => {
    if (state.status === 'success' && resetOnSuccess) formRef.current?.reset();
  }, [state, resetOnSuccess]);

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (confirm && !confirming) {
      setConfirming(true);
      return;
    }
    setConfirming(false);
    const data = new FormData(event.currentTarget);
    // Dispatched by hand, not through <form action>, so React does not clear the fields on failure.
    startTransition(() => dispatch(data));
  }

  const submit = (
    <button type="submit" disabled={pending} className={BUTTONS[tone]}>
      {pending ? (pendingLabel ?? `${submitLabel}…`) : submitLabel}
    </button>
  );

  return (
    <form ref={formRef} aria-label={label} onSubmit={onSubmit} className={inline ? 'flex flex-wrap items-end gap-2' : 'space-y-4'}>
      {children}
      {confirming ? (
        <span className="flex flex-wrap items-center gap-2 text-sm text-slate-700">
          {confirm}
          <button type="submit" className={DANGER_SOLID_BUTTON}>
            Yes, {submitLabel.charAt(0).toLowerCase()}
            {submitLabel.slice(1)}
          </button>
          <button type="button" className={SECONDARY_BUTTON} onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </span>
      ) : (
        <div>{submit}</div>
      )}
      <StatusMessage state={state} />
    </form>
  );
}
