import { isRecord } from '@/lib/platform/json';
import { DESKTOP_POLICY_KEYS, type DesktopKeySpec } from './desktop-keys';
import { MdmError } from './errors';

export type PolicyValue = string | number | boolean | null | PolicyValue[] | { [key: string]: PolicyValue };

/** A Desktop policy as the MDM stores hold it: every value a string. */
export type DesktopPolicy = Record<string, string>;

const INTEGER = /^-?\d+$/;

/** Parses a string the admin typed for a JSON-typed key; a value already structured passes through. */
function structured(key: string, value: PolicyValue, want: 'array' | 'object'): PolicyValue {
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new MdmError(`Desktop key ${key} must be a JSON ${want} (it is stored as one string), got text that is not JSON`);
    }
  }
  if (want === 'array' ? !Array.isArray(parsed) : !isRecord(parsed)) throw new MdmError(`Desktop key ${key} must be a JSON ${want}`);
  return parsed as PolicyValue;
}

function encodeWith(key: string, spec: DesktopKeySpec, value: PolicyValue): string {
  switch (spec.kind) {
    case 'boolean':
      if (value === true || value === 'true') return 'true';
      if (value === false || value === 'false') return 'false';
      throw new MdmError(`Desktop key ${key} must be true or false`);
    case 'integer': {
      const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
      if (!INTEGER.test(text) || !Number.isSafeInteger(Number(text))) throw new MdmError(`Desktop key ${key} must be a whole number`);
      return String(Number(text));
    }
    case 'enum':
      if (typeof value !== 'string' || !spec.values!.includes(value)) throw new MdmError(`Desktop key ${key} must be one of ${spec.values!.join(', ')}`);
      return value;
    case 'string':
      if (typeof value !== 'string' || !value.trim()) throw new MdmError(`Desktop key ${key} must be a non-empty string`);
      return value.trim();
    case 'json-array':
      return JSON.stringify(structured(key, value, 'array'));
    case 'json-object':
      return JSON.stringify(structured(key, value, 'object'));
  }
}

/**
 * The string Claude Desktop reads for `key` = `value`: booleans "true"/"false", numbers as
 * decimal text, lists and objects as one JSON string (other registry or plist types read as
 * unset). Unknown keys and values of the wrong type are refused, naming the key.
 */
export function encodeDesktopValue(key: string, value: PolicyValue): string {
  const spec = DESKTOP_POLICY_KEYS[key];
  if (!spec) throw new MdmError(`there is no Claude Desktop managed-configuration key named ${key}`);
  if (value === null || value === undefined) throw new MdmError(`Desktop key ${key} has no value`);
  return encodeWith(key, spec, value);
}

export function encodeDesktopPolicy(values: Record<string, PolicyValue>): DesktopPolicy {
  const policy: DesktopPolicy = {};
  for (const [key, value] of Object.entries(values)) policy[key] = encodeDesktopValue(key, value);
  return policy;
}

/** The structured value behind an encoded string (for previews and the bootstrap overlay). */
export function decodeDesktopValue(key: string, text: string): PolicyValue {
  const spec = DESKTOP_POLICY_KEYS[key];
  if (!spec) return text;
  if (spec.kind === 'boolean') return text === 'true';
  if (spec.kind === 'integer') return Number(text);
  if (spec.kind === 'json-array' || spec.kind === 'json-object') return JSON.parse(text) as PolicyValue;
  return text;
}
