// What a bundler's asset import gives (Vite's vite/client, esbuild's file loader): a URL string.
declare module "*.wasm" {
  const url: string;
  export default url;
}
