//! The WASM entry point.

use leptos::prelude::document;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Pages are lazy routes (their code is split out of the main module): hydration waits for the
    // current page's module before it walks the server's HTML, as `leptos::mount::hydrate_lazy`
    // does. Once it is done the body says so (`data-hydrated`), which browser tests wait for: a
    // click before it would be the plain HTML form post or link.
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = document().body() else {
            return;
        };
        let owner = leptos::mount::hydrate_from_async(body.clone(), app::App).await;
        owner.forget();
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
