'use client';

import { ActionForm } from '@/components/admin/ActionForm';
import { Hidden } from '@/components/admin/fields';
import type { FormAction } from '@/components/admin/ActionForm';
import { formatUtcTimestamp } from '@/lib/dashboard/format';
import type { OwnSession } from '@/lib/connect/home';

/** The person's live sign-ins, each with a sign-out button, and one to end them all. */
export function OwnSessions({ sessions, revokeOne, revokeAll }: { sessions: OwnSession[]; revokeOne: FormAction; revokeAll: FormAction }) {
  if (sessions.length === 0) return <p className="text-sm text-slate-600">No application is signed in as you right now.</p>;
  return (
    <div className="space-y-4">
      <ul className="divide-y divide-slate-200 rounded-md border border-slate-200">
        {sessions.map((session) => (
          <li key={session.id} className="flex flex-wrap items-center justify-between gap-3 px-4 py-3" data-session={session.id}>
            <div className="min-w-0">
              <p className="font-medium text-slate-900">{session.client}</p>
              <p className="text-xs text-slate-500">
                {session.usedFor} · signed in {formatUtcTimestamp(session.createdAt)} · last used {formatUtcTimestamp(session.lastUsedAt)}
              </p>
            </div>
            <ActionForm action={revokeOne} label={`Sign out ${session.client}`} submitLabel="Sign out" tone="danger" inline>
              <Hidden name="sessionId" value={session.id} />
            </ActionForm>
          </li>
        ))}
      </ul>
      <ActionForm action={revokeAll} label="Sign out everywhere" submitLabel="Sign out everywhere" tone="danger" confirm="Every application signed in as you (Claude Code, Cowork, connectors) will have to sign in again." />
    </div>
  );
}
