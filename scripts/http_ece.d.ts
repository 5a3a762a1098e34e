declare module 'http_ece' {
  import type { ECDH } from 'node:crypto'
  export function decrypt(
    buffer: Buffer,
    params: {
      version: 'aes128gcm' | 'aesgcm' | 'aesgcm128'
      privateKey?: ECDH
      authSecret?: Buffer | string
    },
  ): Buffer
}
