import { diffLines } from 'diff';

/** Line diff between two SKILL.md texts, additions and removals marked (server component). */
export function VersionDiff({ before, after, label }: { before: string; after: string; label: string }) {
  const parts = diffLines(before, after);
  const lines = parts.flatMap((part) =>
    part.value
      .replace(/\n$/, '')
      .split('\n')
      .map((text) => ({ text, kind: part.added ? 'added' : part.removed ? 'removed' : 'same' }) as const),
  );
  return (
    <pre aria-label={label} className="max-h-96 overflow-auto rounded-md border border-slate-200 bg-white py-2 font-mono text-xs leading-5">
      {lines.map((line, index) => (
        <div key={index} data-change={line.kind} className={`px-3 whitespace-pre ${line.kind === 'added' ? 'bg-emerald-50 text-emerald-900' : line.kind === 'removed' ? 'bg-rose-50 text-rose-900' : 'text-slate-600'}`}>
          {line.kind === 'added' ? '+ ' : line.kind === 'removed' ? '- ' : '  '}
          {line.text}
        </div>
      ))}
    </pre>
  );
}
