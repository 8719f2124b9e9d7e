//! Host bindings of the `sync-plugin` world: the plugin's `model-sync` exports
//! and the `host` interface the host implements, both async.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "sync-plugin",
    exports: { default: async },
    // The store's functions wait for its database off the async threads.
    imports: { default: async },
    additional_derives: [PartialEq, serde::Serialize],
});
