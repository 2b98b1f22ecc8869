'use client';

import { startTransition, useActionState, type FormEvent, type ReactNode } from 'react';
import { IDLE } from '@/lib/admin/action-state';
import { PRIMARY_BUTTON } from '@/components/admin/styles';
import { DecisionBadge } from './decision';
import type { PolicyTestState, PolicyTestView } from './test-view';

function Result({ result }: { result: PolicyTestView }) {
  const rows: [string, ReactNode][] = [
    ['Rule', result.rule ? (
      <span>
        {result.rule.description ? <span className="font-medium text-slate-900">{result.rule.description} </span> : null}
        <span className="font-mono text-xs">{result.rule.target}</span> for {result.rule.who}
        {result.rule.conditions ? <span className="block text-xs text-slate-500">when {result.rule.conditions}</span> : null}
        <span className="block font-mono text-xs text-slate-400">{result.rule.id}</span>
      </span>
    ) : 'none'],
    ['Why', result.reason],
    ['Scope', result.scope],
    ['Who', result.principal],
    ['When', result.at],
    ['Gatehouse down', result.failMode === 'open' ? 'a hook allows the call (fail open)' : 'a hook refuses the call (fail closed)'],
  ];
  return (
    <section aria-label="Decision" role="status" className="space-y-3 rounded-md border border-slate-200 bg-slate-50 p-4">
      <p className="flex items-center gap-2 text-sm font-medium text-slate-900">
        Decision: <DecisionBadge decision={result.decision} />
      </p>
      {result.unknownTool ? <p className="text-xs text-amber-800">The server’s approved tool list has no tool by this name.</p> : null}
      <dl className="grid gap-x-4 gap-y-2 text-sm sm:grid-cols-[10rem_1fr]">
        {rows.map(([label, value]) => (
          <div key={label} className="contents">
            <dt className="font-medium text-slate-600">{label}</dt>
            <dd className="min-w-0 break-words text-slate-800">{value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

/** Principal + server + tool + context → the decision, the deciding rule and why. */
export function PolicyTestBox({ action, children }: { action: (state: PolicyTestState, form: FormData) => Promise<PolicyTestState>; children: ReactNode }) {
  const [state, dispatch, pending] = useActionState<PolicyTestState, FormData>(action, IDLE);
  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    startTransition(() => dispatch(data));
  }
  return (
    <form aria-label="Test this rule" onSubmit={onSubmit} className="space-y-4">
      {children}
      <button type="submit" disabled={pending} className={PRIMARY_BUTTON}>
        {pending ? 'Testing…' : 'Test'}
      </button>
      {state.status === 'error' ? (
        <p role="alert" className="rounded-md border border-rose-200 bg-rose-50 px-3 py-2 text-sm text-rose-800">
          {state.message}
        </p>
      ) : null}
      {state.status === 'done' ? <Result result={state.result} /> : null}
    </form>
  );
}
