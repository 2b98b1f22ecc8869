'use client';

import { startTransition, useActionState, useDeferredValue, useMemo, useState, type FormEvent } from 'react';
import type { FormAction } from '@/components/admin/ActionForm';
import { PRIMARY_BUTTON } from '@/components/admin/styles';
import { IDLE } from '@/lib/admin/action-state';
import { parseSkillMarkdown, type SkillIssue } from '@/lib/skills/frontmatter';
import { renderSkillMarkdown } from '@/lib/skills/markdown';

export interface SkillEditorProps {
  action: FormAction;
  /** Names the form (assistive technology, tests). */
  label: string;
  submitLabel: string;
  initialContent: string;
  /** Sent with the content (skillId, baseVersion). */
  hidden?: Record<string, string>;
}

const LINE_HEIGHT = 'leading-6';

/** The body for the preview even while the frontmatter does not validate. */
function bodyOf(content: string): string {
  const match = /^---\r?\n[\s\S]*?\r?\n(?:---|\.\.\.)\s*(?:\r?\n|$)/.exec(content);
  return match ? content.slice(match[0].length) : content;
}

function IssueList({ issues }: { issues: SkillIssue[] }) {
  if (issues.length === 0) {
    return (
      <p role="status" className="text-sm text-emerald-700">
        Frontmatter is valid.
      </p>
    );
  }
  return (
    <ul aria-label="Problems" className="space-y-1 text-sm">
      {issues.map((issue, index) => (
        <li key={`${issue.line}-${index}`} data-line={issue.line} className={issue.severity === 'error' ? 'text-rose-700' : 'text-amber-700'}>
          <span className="font-medium">Line {issue.line}:</span> {issue.message}
          {issue.severity === 'warning' ? ' (warning)' : ''}
        </li>
      ))}
    </ul>
  );
}

/**
 * SKILL.md editor: the text with line numbers (lines with an error are marked), the problems as
 * you type (the same parser the server saves with), and a live preview of the body.
 */
export function SkillEditor({ action, label, submitLabel, initialContent, hidden = {} }: SkillEditorProps) {
  const [content, setContent] = useState(initialContent);
  const [state, dispatch, pending] = useActionState(action, IDLE);
  const deferred = useDeferredValue(content);
  const parsed = useMemo(() => parseSkillMarkdown(deferred), [deferred]);
  const errorLines = useMemo(() => new Set(parsed.issues.filter((issue) => issue.severity === 'error').map((issue) => issue.line)), [parsed]);
  const previewHtml = useMemo(() => renderSkillMarkdown(parsed.ok ? parsed.skill.body : bodyOf(deferred)), [parsed, deferred]);
  const lineCount = content.split('\n').length;
  const hasErrors = !parsed.ok;

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    startTransition(() => dispatch(data));
  }

  return (
    <form aria-label={label} onSubmit={onSubmit} className="space-y-4">
      {Object.entries(hidden).map(([name, value]) => (
        <input key={name} type="hidden" name={name} value={value} />
      ))}
      <div className="grid gap-4 lg:grid-cols-2">
        <div className="min-w-0 space-y-2">
          <label htmlFor="skill-content" className="block text-sm font-medium text-slate-700">
            SKILL.md
          </label>
          <div className="flex max-h-[32rem] overflow-auto rounded-md border border-slate-300 bg-white font-mono text-sm shadow-sm focus-within:border-indigo-500 focus-within:ring-2 focus-within:ring-indigo-500/30">
            <ol aria-hidden="true" className={`select-none border-r border-slate-200 bg-slate-50 py-2 text-right text-xs text-slate-400 ${LINE_HEIGHT}`}>
              {Array.from({ length: lineCount }, (_, index) => (
                <li key={index} data-error={errorLines.has(index + 1) || undefined} className={`px-2 ${LINE_HEIGHT} ${errorLines.has(index + 1) ? 'bg-rose-100 font-semibold text-rose-700' : ''}`}>
                  {index + 1}
                </li>
              ))}
            </ol>
            <textarea
              id="skill-content"
              name="content"
              value={content}
              onChange={(event) => setContent(event.target.value)}
              rows={lineCount + 1}
              wrap="off"
              spellCheck={false}
              aria-invalid={hasErrors}
              aria-describedby="skill-problems"
              className={`min-w-0 flex-1 resize-none overflow-hidden whitespace-pre bg-transparent px-3 py-2 text-slate-900 outline-none ${LINE_HEIGHT}`}
            />
          </div>
          <div id="skill-problems" className="rounded-md bg-slate-50 px-3 py-2" aria-live="polite">
            <IssueList issues={parsed.issues} />
          </div>
        </div>
        <div className="min-w-0 space-y-2">
          <h2 className="text-sm font-medium text-slate-700">Preview</h2>
          <div className="max-h-[32rem] overflow-auto rounded-md border border-slate-200 bg-white px-4 py-3">
            {parsed.ok ? (
              <div className="mb-3 border-b border-slate-100 pb-3">
                <p className="font-mono text-sm font-semibold text-slate-900">/{parsed.skill.frontmatter.name}</p>
                <p className="text-sm text-slate-600">{parsed.skill.frontmatter.description}</p>
                {parsed.skill.frontmatter.arguments?.length ? (
                  <p className="mt-1 text-xs text-slate-500">
                    Arguments: {parsed.skill.frontmatter.arguments.map((argument) => `${argument.name}${argument.required ? ' (required)' : ''}`).join(', ')}
                  </p>
                ) : null}
              </div>
            ) : null}
            <div aria-label="Rendered preview" className="skill-markdown" dangerouslySetInnerHTML={{ __html: previewHtml }} />
          </div>
        </div>
      </div>
      <div className="flex flex-wrap items-center gap-3">
        <button type="submit" disabled={pending || hasErrors} className={PRIMARY_BUTTON}>
          {pending ? 'Saving…' : submitLabel}
        </button>
        {hasErrors ? <span className="text-sm text-slate-500">Fix the problems to save.</span> : null}
      </div>
      {state.status === 'error' ? (
        <p role="alert" className="rounded-md border border-rose-200 bg-rose-50 px-3 py-2 text-sm text-rose-800">
          {state.message}
        </p>
      ) : state.status === 'success' ? (
        <p role="status" className="rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-900">
          {state.message}
        </p>
      ) : null}
    </form>
  );
}
