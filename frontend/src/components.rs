//! The small design system: fields, dialogs, toasts, badges, empty states, skeletons. Components
//! only take props and callbacks; pages own data and actions.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, Waker},
};

use leptos::{html, prelude::*, wasm_split::SplitLoaderError};

use crate::{
    api::ApiError,
    context::{ctx, ToastKind},
    data::Load,
};

/// Loading placeholder rows (announced to screen readers as loading).
#[component]
pub fn Skeleton(#[prop(default = 3)] rows: usize) -> impl IntoView {
    view! {
        <div class="skeleton" role="status" aria-label="Loading">
            {(0..rows).map(|_| view! { <div class="sk-row"></div> }).collect_view()}
        </div>
    }
}

/// The toasts, in a polite live region so screen readers read them out.
#[component]
pub fn Toasts() -> impl IntoView {
    let ctx = ctx();
    view! {
        <div class="toasts" role="status" aria-live="polite">
            <For each=move || ctx.toasts.get() key=|t| t.id let:t>
                <div class="toast" class:error=t.kind == ToastKind::Error>
                    <span>{t.text.clone()}</span>
                    <button class="icon-btn" aria-label="Dismiss"
                        on:click=move |_| ctx.toasts.update(|all| all.retain(|x| x.id != t.id))>"×"</button>
                </div>
            </For>
        </div>
    }
}

/// A labelled input with its error underneath (from the API's `fields` or a local check).
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(optional)] required: bool,
    #[prop(optional)] autofocus: bool,
) -> impl IntoView {
    let id = format!("f-{name}");
    let err_id = format!("{id}-err");
    let hint_id = format!("{id}-hint");
    let described = move || {
        let mut ids = Vec::new();
        if !hint.is_empty() {
            ids.push(hint_id.clone());
        }
        if error.get().is_some() {
            ids.push(err_id.clone());
        }
        ids.join(" ")
    };
    let err_id2 = format!("{id}-err");
    let hint_id2 = format!("{id}-hint");
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input id=id.clone() name=name type=kind autocomplete=autocomplete required=required
                autofocus=autofocus bind:value=value
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=described/>
            {(!hint.is_empty()).then(|| view! { <p class="hint" id=hint_id2.clone()>{hint}</p> })}
            {move || error.get().map(|e| view! { <p class="err" id=err_id2.clone()>{format!("{label} {e}")}</p> })}
        </div>
    }
}

/// The error of a form: field problems go next to their fields; this shows the rest.
#[component]
pub fn FormError(#[prop(into)] error: Signal<Option<ApiError>>) -> impl IntoView {
    move || {
        error.get().and_then(|e| match &e {
            ApiError::Api { fields, .. } if !fields.is_empty() => None,
            ApiError::SignedOut => None,
            _ => Some(view! { <p class="alert" role="alert">{e.message()}</p> }),
        })
    }
}

/// The field error for `name`: a local check first, else what the API said.
pub fn field_error(
    local: RwSignal<Vec<(&'static str, String)>>,
    remote: RwSignal<Option<ApiError>>,
    name: &'static str,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        local
            .get()
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(_, e)| e.clone())
            .or_else(|| remote.get().and_then(|e| e.field(name)))
    })
}

/// A modal dialog on the native `<dialog>`: the page behind is inert, focus stays inside,
/// Escape closes it, and focus returns to where it was.
#[component]
pub fn Dialog(open: RwSignal<bool>, title: Signal<String>, children: ChildrenFn) -> impl IntoView {
    let el = NodeRef::<html::Dialog>::new();
    let title_id = format!("dlg-{}", js_sys::Math::random().to_bits());
    Effect::new(move |_| {
        let want = open.get();
        if let Some(d) = el.get() {
            if want && !d.open() {
                let _ = d.show_modal();
            } else if !want && d.open() {
                d.close();
            }
        }
    });
    let title_id2 = title_id.clone();
    view! {
        <dialog node_ref=el class="dialog" aria-labelledby=title_id
            on:close=move |_| open.set(false)>
            <h2 id=title_id2>{move || title.get()}</h2>
            {move || open.get().then(|| children())}
        </dialog>
    }
}

/// "Are you sure?" with a destructive confirm button.
#[component]
pub fn Confirm(
    open: RwSignal<bool>,
    #[prop(into)] title: Signal<String>,
    #[prop(into)] body: Signal<String>,
    confirm_label: &'static str,
    #[prop(into)] pending: Signal<bool>,
    on_confirm: Callback<()>,
) -> impl IntoView {
    view! {
        <Dialog open=open title=title>
            <p>{move || body.get()}</p>
            <div class="actions">
                <button class="btn" on:click=move |_| open.set(false)>"Cancel"</button>
                <button class="btn danger" disabled=move || pending.get()
                    on:click=move |_| on_confirm.run(())>{confirm_label}</button>
            </div>
        </Dialog>
    }
}

/// A status pill.
#[component]
pub fn Badge(#[prop(into)] text: String, #[prop(into)] tone: String) -> impl IntoView {
    view! { <span class=format!("badge {tone}")>{text}</span> }
}

/// What an empty list says, with what to do about it.
#[component]
pub fn Empty(title: &'static str, #[prop(optional)] children: Option<Children>) -> impl IntoView {
    view! {
        <div class="empty">
            <p class="empty-title">{title}</p>
            {children.map(|c| c())}
        </div>
    }
}

/// A load error with a retry button.
#[component]
pub fn ErrorPanel(error: ApiError, retry: Callback<()>) -> impl IntoView {
    view! {
        <div class="alert" role="alert">
            <span>{error.message()}</span>
            <button class="btn" on:click=move |_| retry.run(())>"Try again"</button>
        </div>
    }
}

/// Renders a resource: skeleton while loading, an error with retry, else `render`.
pub fn loaded<T, V>(res: Load<T>, render: impl Fn(T) -> V + Send + Sync + 'static) -> impl IntoView
where
    T: Clone + 'static,
    V: IntoView + 'static,
{
    dynamic(move || match res.get() {
        None => view! { <Skeleton/> }.into_any(),
        Some(Err(e)) => {
            view! { <ErrorPanel error=e retry=Callback::new(move |_| res.refetch())/> }.into_any()
        }
        Some(Ok(v)) => render(v).into_any(),
    })
}

/// A part of a page that is rendered again whenever a signal it reads changes, like a
/// `move || view! {…}` closure. Leptos's code for such a closure is generic over the closure's
/// type; going through one boxed closure type keeps a single copy of it in the `.wasm`.
pub fn dynamic(render: impl Fn() -> AnyView + Send + Sync + 'static) -> impl IntoView {
    erased(Arc::new(render))
}

fn erased(render: Arc<dyn Fn() -> AnyView + Send + Sync>) -> impl IntoView {
    move || render()
}

/// A page whose code is a `.wasm` chunk of its own (`app.rs`'s `page!`): the future loads the chunk
/// once, then builds the page.
pub type PageChunk = fn() -> PageLoad;
pub type PageLoad = Pin<Box<dyn Future<Output = Result<AnyView, SplitLoaderError>>>>;

#[derive(Clone, Copy, PartialEq)]
enum ChunkState {
    Loading,
    Failed,
    Ready,
}

/// Shows a page from its chunk. Once the chunk is loaded the page is built at once; the first
/// time, a skeleton stands in while it is fetched, and if that fails (offline, say) the page
/// says so and offers to try again.
pub fn lazy(chunk: PageChunk) -> AnyView {
    let mut first = chunk();
    let noop = &mut Context::from_waker(Waker::noop());
    let state = match untrack(|| first.as_mut().poll(noop)) {
        Poll::Ready(Ok(page)) => return page,
        Poll::Ready(Err(_)) => RwSignal::new(ChunkState::Failed),
        Poll::Pending => RwSignal::new(ChunkState::Loading),
    };
    let page = StoredValue::new_local(None::<AnyView>);
    // The wait belongs to this page, not to whatever view started it: a retry is clicked in the
    // error panel, which goes away as soon as loading starts again.
    let owner = Owner::current().unwrap_or_default();
    let wait = move |load: PageLoad| {
        owner.with(|| {
            untrack(|| {
                leptos::task::spawn_local_scoped_with_cancellation(async move {
                    let next = match load.await {
                        Ok(view) => {
                            page.set_value(Some(view));
                            ChunkState::Ready
                        }
                        Err(_) => ChunkState::Failed,
                    };
                    state.try_set(next);
                })
            })
        })
    };
    if state.get_untracked() == ChunkState::Loading {
        wait(first);
    }
    let retry = Callback::new(move |_| {
        state.set(ChunkState::Loading);
        wait(chunk());
    });
    dynamic(move || match state.get() {
        ChunkState::Loading => view! { <Skeleton rows=4/> }.into_any(),
        ChunkState::Failed => {
            let error =
                ApiError::Network("This page could not be loaded. Check your connection.".into());
            view! { <ErrorPanel error retry/> }.into_any()
        }
        ChunkState::Ready => page
            .try_update_value(Option::take)
            .flatten()
            .unwrap_or_else(|| ().into_any()),
    })
    .into_any()
}

/// Next / previous over cursor pages: the stack holds the cursors of the pages before.
#[component]
pub fn Pager(
    cursor: RwSignal<Option<String>>,
    history: RwSignal<Vec<Option<String>>>,
    #[prop(into)] next: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <div class="pager">
            <button class="btn" disabled=move || history.get().is_empty()
                on:click=move |_| {
                    let mut h = history.get_untracked();
                    if let Some(prev) = h.pop() {
                        history.set(h);
                        cursor.set(prev);
                    }
                }>"← Newer"</button>
            <button class="btn" disabled=move || next.get().is_none()
                on:click=move |_| {
                    if let Some(n) = next.get_untracked() {
                        history.update(|h| h.push(cursor.get_untracked()));
                        cursor.set(Some(n));
                    }
                }>"Older →"</button>
        </div>
    }
}

/// A dialog form's Cancel and submit buttons; submit is disabled while the action runs.
#[component]
pub fn FormButtons(
    label: &'static str,
    #[prop(into)] pending: Signal<bool>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    view! {
        <div class="actions">
            <button type="button" class="btn" on:click=move |_| on_cancel.run(())>"Cancel"</button>
            <button type="submit" class="btn primary" disabled=move || pending.get()>{label}</button>
        </div>
    }
}

/// A secret shown once: a warning, the secret selected on focus with a copy button, a line about
/// what it belongs to, anything the caller adds, and the button that closes the dialog (`open`).
#[component]
pub fn SecretReveal(
    /// The input's id (tests and labels find it by this).
    id: &'static str,
    label: &'static str,
    warning: &'static str,
    secret: String,
    about: String,
    open: RwSignal<bool>,
    /// More to read before closing (how to use the secret).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    view! {
        <p class="warning" role="alert">{warning}</p>
        <CopyField id=id label=label value=secret/>
        <p class="muted">{about}</p>
        {children.map(|c| c())}
        <div class="actions">
            <button class="btn primary" on:click=move |_| open.set(false)>"I have saved it"</button>
        </div>
    }
}

/// Text to copy: read-only, selected on focus, with a copy button; `label` for screen readers.
#[component]
pub fn CopyField(id: &'static str, label: &'static str, value: String) -> impl IntoView {
    let to_copy = value.clone();
    view! {
        <div class="secret">
            <label for=id class="sr-only">{label}</label>
            <input id=id readonly value=value class="mono"
                on:focus=move |ev| { event_target::<web_sys::HtmlInputElement>(&ev).select(); }/>
            <button class="btn" on:click=move |_| copy_to_clipboard(to_copy.clone())>"Copy"</button>
        </div>
    }
}

/// Copies text to the clipboard and says so.
pub fn copy_to_clipboard(text: String) {
    let ctx = ctx();
    let Some(clipboard) = web_sys::window().map(|w| w.navigator().clipboard()) else {
        return;
    };
    let promise = clipboard.write_text(&text);
    leptos::task::spawn_local(async move {
        match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(_) => ctx.ok("Copied to the clipboard."),
            Err(_) => ctx.toast(
                ToastKind::Error,
                "Copy failed: select the text and copy it by hand.",
            ),
        }
    });
}
