import type { DesktopPolicy } from './encode';

export type RegistryHive = 'HKEY_CURRENT_USER' | 'HKEY_LOCAL_MACHINE';

function quoted(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/**
 * A string with a line break as regedit exports it: `hex(1):` (REG_SZ, written as the UTF-16 LE
 * bytes with the terminating NUL), since a quoted .reg string cannot span lines.
 */
function hexString(text: string): string {
  const bytes = [...Buffer.from(`${text}\0`, 'utf16le')].map((byte) => byte.toString(16).padStart(2, '0'));
  return `hex(1):${bytes.join(',')}`;
}

/**
 * A Registry Editor 5.00 file setting each value as REG_SZ (Claude reads other value types as
 * unset), in UTF-16 LE with a byte-order mark and CRLF line ends, as regedit itself writes them.
 */
export function buildRegFile(keyPath: string, values: Record<string, string>): Buffer {
  const lines = ['Windows Registry Editor Version 5.00', '', `[${keyPath}]`];
  for (const [name, value] of Object.entries(values)) {
    lines.push(`${quoted(name)}=${/[\r\n]/.test(value) ? hexString(value) : quoted(value)}`);
  }
  const text = `${lines.join('\r\n')}\r\n`;
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

/** Claude Desktop's policy key under the chosen hive. */
export function desktopRegFile(policy: DesktopPolicy, hive: RegistryHive): Buffer {
  return buildRegFile(`${hive}\\SOFTWARE\\Policies\\Claude`, policy);
}
