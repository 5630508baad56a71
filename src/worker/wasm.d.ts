// Workers import .wasm files as compiled modules (wrangler.toml [[rules]] type = "CompiledWasm").
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
