import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { PluginUploadError, UPLOAD_LIMITS, type UploadLimits } from './limits';

/**
 * A deliberately small ZIP reader and writer. Uploads are hostile input, so the reader trusts
 * nothing an archive says about itself: it refuses anything but plain files and directories
 * (symlinks, devices, FIFOs), encrypted and ZIP64 entries, and inflates each entry with a hard
 * output cap, so a member that claims 1 KB and expands to gigabytes (a zip bomb) is cut off at
 * the cap instead of filling memory. The writer makes deterministic archives (sorted, fixed
 * timestamps, regular files 0644): the same files always give the same bytes and sha256.
 */

export interface ZipEntry {
  /** The name exactly as stored in the archive (not yet checked as a path). */
  name: string;
  /** Unix file type bits from the external attributes, when the archive was made on Unix. */
  unixMode: number | null;
  isDirectory: boolean;
  data: Buffer;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const HOST_UNIX = 3;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

function refuse(message: string, file?: string): never {
  throw new PluginUploadError([{ file: file ?? '(archive)', message }]);
}

function findEndOfCentralDirectory(zip: Buffer): number {
  const earliest = Math.max(0, zip.length - EOCD_SIZE - 0xffff);
  for (let offset = zip.length - EOCD_SIZE; offset >= earliest; offset--) {
    if (zip.readUInt32LE(offset) === EOCD_SIGNATURE) return offset;
  }
  return refuse('not a ZIP archive (no end-of-central-directory record)');
}

function fileType(unixMode: number | null, dosAttributes: number, name: string): 'file' | 'directory' | 'other' {
  if (unixMode !== null && (unixMode & S_IFMT) !== 0) {
    const type = unixMode & S_IFMT;
    if (type === S_IFREG) return 'file';
    if (type === S_IFDIR) return 'directory';
    return 'other';
  }
  return (dosAttributes & 0x10) !== 0 || name.endsWith('/') ? 'directory' : 'file';
}

function describeType(unixMode: number | null): string {
  const type = (unixMode ?? 0) & S_IFMT;
  if (type === S_IFLNK) return 'a symbolic link';
  if (type === 0o020000 || type === 0o060000) return 'a device file';
  if (type === 0o010000) return 'a FIFO';
  if (type === 0o140000) return 'a socket';
  return 'not a regular file';
}

/** Where the archive's last record ends: bytes after it are not part of the archive. */
export function archiveEnd(zip: Buffer): number {
  if (zip.length < EOCD_SIZE) refuse('not a ZIP archive (too short)');
  const eocd = findEndOfCentralDirectory(zip);
  return eocd + EOCD_SIZE + zip.readUInt16LE(eocd + 20);
}

/**
 * Reads every entry, enforcing the limits while inflating. Throws PluginUploadError. Every entry
 * is inflated and checked; `keep` says whose data to hold on to (the others come back empty), so
 * checking a large archive holds one entry at a time.
 */
export function readZip(zip: Buffer, limits: UploadLimits = UPLOAD_LIMITS, keep: (name: string) => boolean = () => true): ZipEntry[] {
  if (zip.length > limits.maxArchiveBytes) refuse(`archive is ${zip.length} bytes, over the ${limits.maxArchiveBytes}-byte limit`);
  if (zip.length < EOCD_SIZE) refuse('not a ZIP archive (too short)');
  const eocd = findEndOfCentralDirectory(zip);
  const count = zip.readUInt16LE(eocd + 10);
  const centralSize = zip.readUInt32LE(eocd + 12);
  const centralOffset = zip.readUInt32LE(eocd + 16);
  if (count === 0xffff || centralOffset === 0xffffffff || centralSize === 0xffffffff) refuse('ZIP64 archives are not accepted');
  if (zip.readUInt16LE(eocd + 4) !== 0 || zip.readUInt16LE(eocd + 6) !== 0) refuse('multi-part archives are not accepted');
  if (count > limits.maxFiles * 2) refuse(`archive has ${count} entries, over the ${limits.maxFiles}-file limit`);
  if (centralOffset + centralSize > eocd) refuse('corrupt archive (central directory out of bounds)');

  const entries: ZipEntry[] = [];
  let declaredTotal = 0;
  let inflatedTotal = 0;
  let cursor = centralOffset;
  for (let index = 0; index < count; index++) {
    if (cursor + CENTRAL_SIZE > eocd || zip.readUInt32LE(cursor) !== CENTRAL_SIGNATURE) refuse('corrupt archive (bad central directory entry)');
    const madeBy = zip.readUInt16LE(cursor + 4);
    const flags = zip.readUInt16LE(cursor + 8);
    const method = zip.readUInt16LE(cursor + 10);
    const crc = zip.readUInt32LE(cursor + 16);
    const compressedSize = zip.readUInt32LE(cursor + 20);
    const size = zip.readUInt32LE(cursor + 24);
    const nameLength = zip.readUInt16LE(cursor + 28);
    const extraLength = zip.readUInt16LE(cursor + 30);
    const commentLength = zip.readUInt16LE(cursor + 32);
    const external = zip.readUInt32LE(cursor + 38);
    const localOffset = zip.readUInt32LE(cursor + 42);
    const name = zip.subarray(cursor + CENTRAL_SIZE, cursor + CENTRAL_SIZE + nameLength).toString('utf8');
    cursor += CENTRAL_SIZE + nameLength + extraLength + commentLength;

    const unixMode = madeBy >> 8 === HOST_UNIX ? external >>> 16 : null;
    const type = fileType(unixMode, external & 0xff, name);
    if (type === 'other') refuse(`${describeType(unixMode)}: only regular files and folders are accepted`, name);
    if ((flags & 0x1) !== 0) refuse('encrypted entries are not accepted', name);
    if (compressedSize === 0xffffffff || size === 0xffffffff || localOffset === 0xffffffff) refuse('ZIP64 entries are not accepted', name);
    if (type === 'directory') {
      entries.push({ name, unixMode, isDirectory: true, data: Buffer.alloc(0) });
      continue;
    }
    if (size > limits.maxFileBytes) refuse(`file is ${size} bytes, over the ${limits.maxFileBytes}-byte limit per file`, name);
    declaredTotal += size;
    if (declaredTotal > limits.maxTotalBytes) refuse(`files add up to more than the ${limits.maxTotalBytes}-byte limit when unpacked`, name);

    if (localOffset + LOCAL_SIZE > centralOffset || zip.readUInt32LE(localOffset) !== LOCAL_SIGNATURE) refuse('corrupt archive (bad local header)', name);
    const dataStart = localOffset + LOCAL_SIZE + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    if (dataStart + compressedSize > centralOffset) refuse('corrupt archive (entry data out of bounds)', name);
    const raw = zip.subarray(dataStart, dataStart + compressedSize);
    let data: Buffer;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) {
      try {
        // One byte over the declared size is enough to prove the entry lies about its size.
        data = inflateRawSync(raw, { maxOutputLength: Math.max(1, size + 1) });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ERR_BUFFER_TOO_LARGE') refuse(`expands past its declared ${size} bytes (a zip bomb?)`, name);
        refuse(`cannot be decompressed: ${(error as Error).message}`, name);
      }
    } else refuse(`compression method ${method} is not accepted (only stored and deflate)`, name);
    if (data.length !== size) refuse(`expands to ${data.length} bytes, not the ${size} it declares`, name);
    if (crc32(data) !== crc) refuse('checksum mismatch (corrupt archive)', name);
    inflatedTotal += data.length;
    if (inflatedTotal > limits.maxTotalBytes) refuse(`files add up to more than the ${limits.maxTotalBytes}-byte limit when unpacked`, name);
    entries.push({ name, unixMode, isDirectory: false, data: keep(name) ? data : Buffer.alloc(0) });
  }
  return entries;
}

export interface ZipInput {
  name: string;
  data: Buffer;
  /** Full st_mode to record (tests build hostile archives with it); regular 0644 by default. */
  unixMode?: number;
  /** Size to claim in the headers instead of the real one (tests build lying archives). */
  declaredSize?: number;
}

// 1980-01-01 00:00, the earliest DOS date: archives do not change with the clock.
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

/** A deflate archive of the given entries, in the order given. */
export function writeZip(inputs: readonly ZipInput[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const input of inputs) {
    const name = Buffer.from(input.name, 'utf8');
    const compressed = deflateRawSync(input.data, { level: 9 });
    const size = input.declaredSize ?? input.data.length;
    const mode = input.unixMode ?? S_IFREG | 0o644;
    const local = Buffer.alloc(LOCAL_SIZE);
    local.writeUInt32LE(LOCAL_SIGNATURE, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc32(input.data), 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(CENTRAL_SIZE);
    central.writeUInt32LE(CENTRAL_SIGNATURE, 0);
    central.writeUInt16LE((HOST_UNIX << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc32(input.data), 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, compressed);
    centrals.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const centralDirectory = Buffer.concat(centrals);
  const end = Buffer.alloc(EOCD_SIZE);
  end.writeUInt32LE(EOCD_SIGNATURE, 0);
  end.writeUInt16LE(inputs.length, 8);
  end.writeUInt16LE(inputs.length, 10);
  end.writeUInt32LE(centralDirectory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralDirectory, end]);
}

export const UNIX_MODES = { symlink: S_IFLNK | 0o777, characterDevice: 0o020000 | 0o644, directory: S_IFDIR | 0o755 } as const;
