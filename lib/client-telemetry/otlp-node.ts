// Reading a decoded OTLP export request. The gateway's telemetry endpoint (checks and counts) and
// the figures extractor walk the same messages, whose fields come in OTLP/JSON's camelCase or,
// from some encoders, in the proto's snake_case.
import { isRecord } from '@/lib/platform/json';

/** One message of a decoded export request. */
export type OtlpNode = Record<string, unknown>;

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** A field by its OTLP/JSON name, or by the proto name some encoders use. */
export function fieldOf(node: OtlpNode, name: string): unknown {
  return node[name] ?? node[snakeCase(name)];
}

/** A message-valued field, or null when it is absent or not an object. */
export function objectOf(node: OtlpNode, name: string): OtlpNode | null {
  const value = fieldOf(node, name);
  return isRecord(value) ? value : null;
}
