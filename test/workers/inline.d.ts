/** Vite's `?inline` imports of binary fixtures: the file as a `data:` URL (base64). */
declare module '*?inline' {
  const dataUrl: string
  export default dataUrl
}
