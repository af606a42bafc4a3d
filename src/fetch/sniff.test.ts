import { describe, expect, it } from 'vitest';
import { syntheticImageFile } from '../../test/support/web-fixture.js';
import { sniff } from './sniff.js';

const bytes = (...parts: Array<string | number[]>) =>
  new Uint8Array(
    parts.flatMap((part) =>
      typeof part === 'string' ? Array.from(part, (c) => c.charCodeAt(0)) : part,
    ),
  );

/** An ISO-BMFF ftyp box: size, "ftyp", major brand, minor version, compatible brands. */
const ftyp = (major: string, ...compatible: string[]) => {
  const size = 16 + 4 * compatible.length;
  return bytes([0, 0, 0, size], 'ftyp', major, [0, 0, 0, 0], ...compatible, [0, 0, 0, 8], 'mdat');
};

describe('sniff', () => {
  it.each(['jpeg', 'png', 'gif', 'webp', 'tiff', 'avif'] as const)(
    'recognises a real %s file (encoded by sharp)',
    async (format) => {
      const file = await syntheticImageFile(format, 3);
      expect(sniff(file)).toEqual({ kind: 'image', format });
      // Whatever the server claims.
      expect(sniff(file, 'text/html')).toEqual({ kind: 'image', format });
    },
  );

  it('recognises HEIC and AVIF by their brands, and BMP by a real DIB header', () => {
    expect(sniff(ftyp('heic', 'mif1', 'heic'))).toEqual({ kind: 'image', format: 'heic' });
    expect(sniff(ftyp('mif1', 'mif1', 'heic'))).toEqual({ kind: 'image', format: 'heic' });
    expect(sniff(ftyp('mif1', 'mif1', 'avif'))).toEqual({ kind: 'image', format: 'avif' });
    expect(sniff(ftyp('avis', 'avis'))).toEqual({ kind: 'image', format: 'avif' });
    const bmp = bytes(
      'BM',
      [0x46, 0, 0, 0, 0, 0, 0, 0, 0x36, 0, 0, 0],
      [40, 0, 0, 0],
      [2, 0, 0, 0],
    );
    expect(sniff(bmp)).toEqual({ kind: 'image', format: 'bmp' });
    expect(sniff(bytes('BM is how this text starts, and it is not a bitmap'))).toEqual({
      kind: 'other',
    });
  });

  it.each([
    ['mp4', ftyp('isom', 'isom', 'iso2', 'avc1', 'mp41')],
    ['mp4', ftyp('mp42', 'mp42', 'isom')],
    ['quicktime', ftyp('qt  ', 'qt  ')],
    ['3gp', ftyp('3gp5', '3gp5')],
    [
      'webm',
      bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84], 'webm'),
    ],
    ['matroska', bytes([0x1a, 0x45, 0xdf, 0xa3, 0xa3, 0x42, 0x82, 0x88], 'matroska')],
    ['avi', bytes('RIFF', [0, 0, 0, 0], 'AVI LIST')],
    ['flv', bytes('FLV', [1, 5, 0, 0, 0, 9])],
    ['asf', bytes([0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9])],
    ['mpeg', bytes([0, 0, 1, 0xba, 0x44])],
    ['ogg', bytes('OggS', [0, 2], Array(22).fill(0), [0x80], 'theora')],
  ])('recognises %s video', (format, head) => {
    expect(sniff(head)).toEqual({ kind: 'video', format });
  });

  it('recognises an MPEG transport stream by its sync bytes', () => {
    const ts = new Uint8Array(188 * 3);
    ts[0] = ts[188] = ts[376] = 0x47;
    expect(sniff(ts)).toEqual({ kind: 'video', format: 'mpeg-ts' });
  });

  it('does not call audio video', () => {
    expect(sniff(ftyp('M4A ', 'M4A ', 'mp42'))).toEqual({ kind: 'other' });
    expect(sniff(bytes('OggS', [0, 2], Array(22).fill(0), [1], 'vorbis'))).toEqual({
      kind: 'other',
    });
  });

  it.each([
    '<!DOCTYPE html><html>',
    '<!doctype HTML>\n<html>',
    '\ufeff<html lang="en">',
    '  \n\t<HTML>',
    '<head><title>x</title>',
    '<body>',
    '<!-- a comment first -->',
    '<script>var x</script>',
    '<div class="a">',
    '<a href="/x">',
    '<p>text',
    '<table>',
  ])('recognises HTML: %j', (start) => {
    expect(sniff(new TextEncoder().encode(start))).toEqual({ kind: 'html' });
  });

  it('needs a tag end after the name, and uses the header only for text', () => {
    expect(sniff(bytes('<abbr>'))).toEqual({ kind: 'other' }); // "<A" followed by "b"
    expect(sniff(bytes('<meta charset=utf-8><p>'))).toEqual({ kind: 'other' });
    expect(sniff(bytes('<meta charset=utf-8><p>'), 'text/html; charset=utf-8')).toEqual({
      kind: 'html',
    });
    expect(sniff(bytes([0, 1, 2, 3, 4]), 'text/html')).toEqual({ kind: 'other' });
    expect(sniff(bytes('{"json": true}'), 'application/json')).toEqual({ kind: 'other' });
    expect(sniff(new Uint8Array())).toEqual({ kind: 'empty' });
  });
});
