//! Host bindings of the `sync-plugin` world: the plugin's `model-sync` exports
//! (async) and the `host` interface the host implements.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "sync-plugin",
    exports: { default: async },
    additional_derives: [PartialEq, serde::Serialize],
});
