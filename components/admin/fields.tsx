import type { ReactNode } from 'react';
import { INPUT, LABEL } from './styles';

// Plain form fields (no hooks), usable from server pages inside an ActionForm.

export function TextField({ label, name, type = 'text', defaultValue, required = false, placeholder, hint, autoComplete = 'off' }: {
  label: string;
  name: string;
  type?: 'text' | 'email';
  defaultValue?: string;
  required?: boolean;
  placeholder?: string;
  hint?: string;
  autoComplete?: string;
}) {
  return (
    <label className="block space-y-1.5">
      <span className={LABEL}>{label}</span>
      {/* Named by aria-label as well: a wrapping label would also read out the hint. */}
      <input aria-label={label} name={name} type={type} defaultValue={defaultValue} required={required} placeholder={placeholder} autoComplete={autoComplete} className={INPUT} />
      {hint ? <span className="block text-xs text-slate-500">{hint}</span> : null}
    </label>
  );
}

export interface SelectOption {
  value: string;
  label: string;
}

export function SelectField({ label, name, options, defaultValue, hint }: { label: string; name: string; options: SelectOption[]; defaultValue?: string; hint?: string }) {
  return (
    <label className="block space-y-1.5">
      <span className={LABEL}>{label}</span>
      {/* Without aria-label the wrapping label's name would include every option's text. */}
      <select aria-label={label} name={name} defaultValue={defaultValue} className={INPUT}>
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      {hint ? <span className="block text-xs text-slate-500">{hint}</span> : null}
    </label>
  );
}

export function CheckboxField({ label, name, value = 'on', defaultChecked = false, hint }: { label: ReactNode; name: string; value?: string; defaultChecked?: boolean; hint?: string }) {
  return (
    <label className="flex items-start gap-2 text-sm text-slate-700">
      <input type="checkbox" name={name} value={value} defaultChecked={defaultChecked} className="mt-0.5 h-4 w-4 rounded border-slate-300 text-indigo-600 focus:ring-indigo-500" />
      <span>
        {label}
        {hint ? <span className="block text-xs text-slate-500">{hint}</span> : null}
      </span>
    </label>
  );
}

export function Hidden({ name, value }: { name: string; value: string }) {
  return <input type="hidden" name={name} value={value} />;
}

export function TextAreaField({ label, name, defaultValue, rows = 4, placeholder, hint, monospace = false }: {
  label: string;
  name: string;
  defaultValue?: string;
  rows?: number;
  placeholder?: string;
  hint?: string;
  monospace?: boolean;
}) {
  return (
    <label className="block space-y-1.5">
      <span className={LABEL}>{label}</span>
      <textarea aria-label={label} name={name} defaultValue={defaultValue} rows={rows} placeholder={placeholder} spellCheck={false} className={`${INPUT}${monospace ? ' font-mono text-xs' : ''}`} />
      {hint ? <span className="block text-xs text-slate-500">{hint}</span> : null}
    </label>
  );
}
