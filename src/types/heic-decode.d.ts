declare module 'heic-decode' {
  interface HeicImage {
    width: number;
    height: number;
    data: Uint8ClampedArray;
  }
  function decode(input: { buffer: ArrayBufferLike | Uint8Array }): Promise<HeicImage>;
  export default decode;
}
