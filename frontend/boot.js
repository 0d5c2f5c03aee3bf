// Starts the app. Trunk would inline this loader into index.html; our Content-Security-Policy
// allows no inline script, so Trunk.toml's `pattern_script` points here with the hashed names.
const tag = document.querySelector("script[data-pfn-js]");
const { default: init } = await import(tag.dataset.pfnJs);
await init({ module_or_path: tag.dataset.pfnWasm });
