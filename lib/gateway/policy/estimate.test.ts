import { readFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { attachmentTokens, imageSize, imageTokens, MAX_IMAGE_TOKENS, MAX_PDF_PAGES, pdfPageCount, pdfTokens, TOKENS_PER_PDF_PAGE } from './attachments';
import { DEFAULT_WEB_SEARCH_RESERVE, estimateOutputTokens, serverToolAllowance } from './estimate';
import { estimateInputTokens } from './prompt';

// Images written by libvips (sharp) and a PDF printed by Chromium: real encoders' headers.
const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, 'testing/attachments', name));

function withImage(data: Buffer, mediaType: string): Record<string, unknown> {
  return { model: 'm', messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: mediaType, data: data.toString('base64') } }] }] };
}

function withDocument(source: Record<string, unknown>): Record<string, unknown> {
  return { model: 'm', messages: [{ role: 'user', content: [{ type: 'document', source }] }] };
}

/** A PDF whose page objects live only in a compressed object stream, as PDF 1.5+ writers make them. */
function objectStreamPdf(pages: number): Buffer {
  const objects = Array.from({ length: pages }, (_, index) => `${index + 3} 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj`).join('\n');
  const compressed = deflateSync(Buffer.from(`<< /Type /Pages /Kids [] /Count ${pages} >>\n${objects}`, 'latin1'));
  return Buffer.concat([
    Buffer.from(`%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n9 0 obj << /Type /ObjStm /N ${pages + 1} /First 0 /Filter /FlateDecode /Length ${compressed.length} >>\nstream\n`, 'latin1'),
    compressed,
    Buffer.from('\nendstream\nendobj\n%%EOF\n', 'latin1'),
  ]);
}

describe('image estimates', () => {
  it('reads the dimensions from PNG, JPEG (past its EXIF segment), GIF and all three WebP headers', () => {
    expect(imageSize(fixture('200x100.png'))).toEqual({ width: 200, height: 100 });
    expect(imageSize(fixture('2000x500.jpg'))).toEqual({ width: 2000, height: 500 });
    expect(imageSize(fixture('64x48.gif'))).toEqual({ width: 64, height: 48 });
    expect(imageSize(fixture('300x150-lossy.webp'))).toEqual({ width: 300, height: 150 });
    expect(imageSize(fixture('301x151-lossless.webp'))).toEqual({ width: 301, height: 151 });
    expect(imageSize(fixture('302x152-alpha.webp'))).toEqual({ width: 302, height: 152 });
    expect(imageSize(Buffer.from('not an image'))).toBeNull();
  });

  it('prices an image as Claude does: scaled to a 1,568 px long edge, w × h / 750, at most the bound', () => {
    expect(imageTokens({ width: 200, height: 100 })).toBe(27);
    // 2000×500 becomes 1568×392: 614,656 px / 750 = 819.5.
    expect(imageTokens({ width: 2000, height: 500 })).toBe(820);
    expect(imageTokens({ width: 4000, height: 4000 })).toBe(MAX_IMAGE_TOKENS);
    expect(imageTokens(null)).toBe(MAX_IMAGE_TOKENS);
  });

  it('counts a small image by its size instead of a flat 1,600 tokens', () => {
    const text = estimateInputTokens({ model: 'm', messages: [{ role: 'user', content: [] }] });
    expect(estimateInputTokens(withImage(fixture('200x100.png'), 'image/png'))).toBeLessThan(text + 100);
    // A URL's image is not fetched: it is counted at the bound.
    expect(attachmentTokens({ type: 'url', url: 'https://example.com/a.png' }, 'image')).toBe(MAX_IMAGE_TOKENS);
  });
});

describe('PDF estimates', () => {
  it('counts page objects, in the file or in its compressed object streams', () => {
    expect(pdfPageCount(fixture('3-pages-chromium.pdf'))).toBe(3);
    expect(pdfPageCount(objectStreamPdf(7))).toBe(7);
    expect(pdfPageCount(Buffer.from('%PDF-1.4\nnothing here\n'))).toBeNull();
  });

  it('counts the pages of both kinds when a PDF has page objects in the file and in object streams', () => {
    // An incremental update appends plain objects to an object-stream PDF (and anyone can write
    // one plain page object in front of a hundred compressed ones).
    const header = '%PDF-1.7\n';
    const mixed = Buffer.concat([Buffer.from(`${header}2 0 obj << /Type /Page /Parent 2 0 R >> endobj\n`, 'latin1'), objectStreamPdf(7).subarray(header.length)]);
    expect(pdfPageCount(mixed)).toBe(8);
    expect(pdfTokens(mixed)).toBe(8 * TOKENS_PER_PDF_PAGE);
  });

  it('prices a PDF by its pages, else by its size, at most 100 pages', () => {
    expect(pdfTokens(fixture('3-pages-chromium.pdf'))).toBe(3 * TOKENS_PER_PDF_PAGE);
    expect(pdfTokens(objectStreamPdf(250))).toBe(MAX_PDF_PAGES * TOKENS_PER_PDF_PAGE);
    const opaque = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(30_000, 0x41)]);
    expect(pdfTokens(opaque)).toBe(Math.ceil(opaque.length / 3));
  });

  it('counts a document by its pages instead of a flat 1,600 tokens, and one by URL at the bound', () => {
    const pdf = fixture('3-pages-chromium.pdf');
    const estimate = estimateInputTokens(withDocument({ type: 'base64', media_type: 'application/pdf', data: pdf.toString('base64') }));
    expect(estimate).toBeGreaterThanOrEqual(3 * TOKENS_PER_PDF_PAGE);
    expect(estimate).toBeLessThan(3 * TOKENS_PER_PDF_PAGE + 100);
    expect(estimateInputTokens(withDocument({ type: 'url', url: 'https://example.com/report.pdf' }))).toBeGreaterThanOrEqual(MAX_PDF_PAGES * TOKENS_PER_PDF_PAGE);
    // A plain-text document is text.
    expect(estimateInputTokens(withDocument({ type: 'text', media_type: 'text/plain', data: 'a'.repeat(3000) }))).toBeGreaterThanOrEqual(1000);
  });
});

describe('the estimate walk', () => {
  it('counts text nested as deep as the parser allows (past the 64 levels it used to stop at)', () => {
    let nested: unknown = 'a'.repeat(30_000);
    for (let level = 0; level < 100; level += 1) nested = [nested];
    const body = { model: 'm', messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: nested }] }] };
    expect(estimateInputTokens(body)).toBeGreaterThanOrEqual(10_000);
  });

  it('estimates output from the bytes produced, and web searches from the tools allowed', () => {
    expect(estimateOutputTokens(60)).toBe(20);
    expect(estimateOutputTokens(0)).toBe(0);
    expect(serverToolAllowance({ tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 3 }, { name: 'get_weather', input_schema: {} }] })).toEqual({ webSearches: 3 });
    expect(serverToolAllowance({ tools: [{ type: 'web_search_20250305', name: 'web_search' }] })).toEqual({ webSearches: DEFAULT_WEB_SEARCH_RESERVE });
    expect(serverToolAllowance({})).toEqual({ webSearches: 0 });
  });
});
