import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { listSigningCertificates, McpbError, organisationCaPem, renewSigningCertificates, signBundleAsOrganisation, verifyBundle, verifyBundleAsOrganisation, type BundleVerification, type SigningCertificateSummary } from '@/lib/mcpb';
import { CliError } from '../run';
import { withCliDatabase } from './with-database';

export const MCP_BUNDLE_HELP = `Usage:
  gatehouse mcp bundle sign IN.mcpb --out OUT.mcpb   Validate a desktop extension and sign it as the organisation
  gatehouse mcp bundle verify FILE.mcpb [--ca CA.pem]  Check its signature, chain, codeSigning and validity
  gatehouse mcp bundle ca [--der] [--out FILE]        The organisation CA certificate devices must trust
  gatehouse mcp bundle certificates [--json]          The CA and code-signing certificates issued so far
  gatehouse mcp bundle renew [--ca]                   Issue a new code-signing certificate (--ca: a new CA too)

sign     Refuses a bundle that is malformed, already signed, or whose manifest.json lacks a
         required field (each problem on its own line). The signature is MCPB_SIG_V1: detached
         CMS (SHA-256, RSA) over the zip, with the code-signing certificate and the CA.
verify   Exit 0 when the bundle verifies against the organisation CA (or the --ca file, which
         needs no database); otherwise exit 1 and the reason.
ca       PEM by default; --der writes the .cer form Windows' certutil and Intune take.
renew    The code-signing certificate also renews itself 30 days before it expires. A new CA
         must reach every device (gatehouse mdm macos --extension-ca) and bundles must be signed
         again: what the old CA signed no longer verifies.

The CA and its key are created on first use; keys are stored encrypted with GATEHOUSE_SECRET.`;

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new CliError(`${(error as Error).message.split('\n')[0]} (try gatehouse mcp bundle --help)`, 2);
  }
}

function resolvePath(file: string): string {
  return path.resolve(process.env.GATEHOUSE_CLI_CWD ?? process.cwd(), file);
}

function readInput(file: string): Buffer {
  try {
    return readFileSync(resolvePath(file));
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function writeOutput(file: string, body: Buffer | string): string {
  const out = resolvePath(file);
  try {
    writeFileSync(out, body);
  } catch (error) {
    throw new CliError(`cannot write ${out}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return out;
}

function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new CliError(`expected one ${what} (try gatehouse mcp bundle --help)`, 2);
  return positionals[0]!;
}

async function sign(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { out: { type: 'string' } });
  const input = onePositional(positionals, 'bundle to sign');
  if (!values.out) throw new CliError('give --out FILE for the signed bundle', 2);
  const bundle = readInput(input);
  try {
    const result = await withCliDatabase(() => signBundleAsOrganisation(bundle, { call_source: 'cli' }, path.basename(input)));
    const out = writeOutput(values.out, result.signed);
    console.log(`signed ${result.manifest.name} ${result.manifest.version} (manifest ${result.manifestVersion}, ${result.files} files) with code-signing certificate ${result.serialNumber}`);
    console.log(`wrote ${out} (${result.signed.length} bytes, sha256 ${result.signedSha256})`);
    return 0;
  } catch (error) {
    if (!(error instanceof McpbError)) throw error;
    for (const issue of error.issues) console.error(`${input}: ${issue.field}: ${issue.message}`);
    throw new CliError(`not signed: ${error.issues.length === 1 ? 'one problem' : `${error.issues.length} problems`}`);
  }
}

function describe(result: BundleVerification, file: string): string {
  if (!result.ok) return `${file}: NOT VERIFIED (${result.reason}): ${result.message}`;
  const chain = result.chain.map((certificate) => certificate.subject).join(' → ');
  return `${file}: verified: signed by ${result.signer.subject} (serial ${result.signer.serialNumber}, valid until ${result.signer.notAfter.toISOString()}) → ${chain}${result.signingTime ? `, signed at ${result.signingTime.toISOString()}` : ''}`;
}

/** A --ca file: one PEM certificate of a CA. */
function caCertificate(file: string): string {
  const pem = readInput(file).toString('utf8');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    throw new CliError(`--ca ${file} is not a PEM certificate`, 2);
  }
  if (!certificate.ca) throw new CliError(`--ca ${file} is not a CA certificate (${certificate.subject.replace(/\n/g, ', ')})`, 2);
  return pem;
}

async function verify(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ca: { type: 'string', multiple: true } });
  const file = onePositional(positionals, 'bundle to verify');
  const bundle = readInput(file);
  const result = values.ca?.length ? await verifyBundle(bundle, { trustedCaPems: values.ca.map(caCertificate) }) : await withCliDatabase(() => verifyBundleAsOrganisation(bundle));
  (result.ok ? console.log : console.error)(describe(result, file));
  return result.ok ? 0 : 1;
}

async function ca(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { der: { type: 'boolean' }, out: { type: 'string' } });
  if (positionals.length) throw new CliError(`unexpected argument "${positionals[0]}"`, 2);
  const pem = await withCliDatabase(organisationCaPem);
  const body = values.der ? new X509Certificate(pem).raw : pem;
  if (!values.out) {
    if (values.der) throw new CliError('a .cer is not text for a terminal: give --out FILE', 2);
    process.stdout.write(pem);
    return 0;
  }
  console.error(`wrote ${writeOutput(values.out, body)} (fingerprint SHA-256 ${new X509Certificate(pem).fingerprint256})`);
  return 0;
}

function table(certificates: SigningCertificateSummary[]): string {
  const rows = certificates.map((entry) => [entry.kind, entry.serialNumber, entry.status, entry.notBefore.toISOString().slice(0, 10), entry.notAfter.toISOString().slice(0, 10)]);
  const header = ['KIND', 'SERIAL', 'STATUS', 'NOT BEFORE', 'NOT AFTER'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return [header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

async function certificates(args: string[]): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean' } });
  const list = await withCliDatabase(listSigningCertificates);
  console.log(values.json ? JSON.stringify(list, null, 2) : list.length ? table(list) : 'no certificates yet (the CA is created on first use)');
  return 0;
}

async function renew(args: string[]): Promise<number> {
  const { values } = parse(args, { ca: { type: 'boolean' } });
  const active = await withCliDatabase(() => renewSigningCertificates({ ca: values.ca }));
  console.log(table(active));
  if (values.ca) console.log('new CA: roll it out (gatehouse mdm macos --extension-ca, or gatehouse mcp bundle ca --der for Windows) and sign your bundles again');
  return 0;
}

/** `gatehouse mcp bundle …`: signed desktop extensions (lib/mcpb). */
export async function mcpBundleCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
    console.log(MCP_BUNDLE_HELP);
    return sub ? 0 : 2;
  }
  if (sub === 'sign') return sign(rest);
  if (sub === 'verify') return verify(rest);
  if (sub === 'ca') return ca(rest);
  if (sub === 'certificates') return certificates(rest);
  if (sub === 'renew') return renew(rest);
  throw new CliError(`unknown mcp bundle command "${sub}" (try gatehouse mcp bundle --help)`, 2);
}
