//! How pages load data ([`Load`]) and start calls ([`Call`]). Both keep what each call
//! returns behind `Rc<dyn Any>`. That way every page shares one instance of Leptos's async
//! machinery in the `.wasm` instead of one per answer type. `LocalResource<T>` and
//! `Action<I, O>` are generic over everything they hold. Before wasm-opt, one copy per type
//! came to about 260 KB of code for 24 resources and 24 actions (docs/benchmarks.md). The types
//! stay checked at the edges: a `Load<T>` only ever holds a `T`, and a `Call<I>` only takes an
//! `I`.

use std::{any::Any, future::Future, marker::PhantomData, pin::Pin, rc::Rc};

use leptos::prelude::*;

use crate::api::{ApiError, ApiResult};

type Answer = Result<Rc<dyn Any>, ApiError>;
type Fetch = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = Answer>>>>;

/// The answer of one API call for a page. It loads when created and again whenever a signal
/// the call reads changes, or on [`Load::refetch`].
pub struct Load<T> {
    res: LocalResource<Answer>,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Load<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Load<T> {}

impl<T: Clone + 'static> Load<T> {
    pub fn new<Fut>(fetch: impl Fn() -> Fut + 'static) -> Self
    where
        Fut: Future<Output = ApiResult<T>> + 'static,
    {
        let fetch: Fetch = Rc::new(move || {
            let answer = fetch();
            Box::pin(async move { answer.await.map(|v| Rc::new(v) as Rc<dyn Any>) })
        });
        Load {
            res: resource(fetch),
            _t: PhantomData,
        }
    }

    /// `None` while loading (tracked, like any signal read).
    pub fn get(&self) -> Option<ApiResult<T>> {
        match self.res.get()? {
            Ok(v) => v.downcast_ref::<T>().cloned().map(Ok),
            Err(e) => Some(Err(e)),
        }
    }

    pub fn refetch(&self) {
        self.res.refetch();
    }
}

/// The one `LocalResource` type of the app.
fn resource(fetch: Fetch) -> LocalResource<Answer> {
    LocalResource::new(move || fetch())
}

/// A call a person starts from a form or a button. While it runs, [`Call::pending`] is true;
/// when it ends, `ok` or `err` runs. If the component that made it goes away first, the call
/// is dropped and neither runs.
pub struct Call<I> {
    state: CallState,
    _i: PhantomData<fn(I)>,
}

/// The part of a [`Call`] that does not depend on its input type.
#[derive(Clone, Copy)]
struct CallState {
    in_flight: RwSignal<u32>,
    pending: Signal<bool>,
    /// A `Runner<I>`.
    runner: StoredValue<Rc<dyn Any>, LocalStorage>,
}

type Task = Pin<Box<dyn Future<Output = ()>>>;

struct Runner<I> {
    /// The component that made the call: its tasks end with it.
    owner: Option<Owner>,
    run: Box<dyn Fn(I) -> Task>,
}

impl<I> Clone for Call<I> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I> Copy for Call<I> {}

impl<I: 'static> Call<I> {
    pub fn new<O, Fut>(
        call: impl Fn(I) -> Fut + 'static,
        ok: impl Fn(O) + 'static,
        err: impl Fn(ApiError) + 'static,
    ) -> Self
    where
        O: 'static,
        Fut: Future<Output = ApiResult<O>> + 'static,
    {
        let (ok, err) = (Rc::new(ok), Rc::new(err));
        let runner = Runner {
            owner: Owner::current(),
            run: Box::new(move |input: I| -> Task {
                let answer = call(input);
                let (ok, err) = (ok.clone(), err.clone());
                Box::pin(async move {
                    match answer.await {
                        Ok(v) => ok(v),
                        Err(e) => err(e),
                    }
                })
            }),
        };
        Call {
            state: CallState::new(Rc::new(runner)),
            _i: PhantomData,
        }
    }

    pub fn dispatch(&self, input: I) {
        let Some(runner) = self.state.runner.try_get_value() else {
            return;
        };
        if let Some(runner) = runner.downcast_ref::<Runner<I>>() {
            self.state.start(runner.owner.as_ref(), (runner.run)(input));
        }
    }

    /// Whether a call is running (tracked).
    pub fn pending(&self) -> Signal<bool> {
        self.state.pending
    }
}

impl CallState {
    fn new(runner: Rc<dyn Any>) -> Self {
        let in_flight = RwSignal::new(0u32);
        CallState {
            in_flight,
            pending: Signal::derive(move || in_flight.get() > 0),
            runner: StoredValue::new_local(runner),
        }
    }

    /// Runs a call's task in its component, counting it while it runs.
    fn start(self, owner: Option<&Owner>, task: Task) {
        let in_flight = self.in_flight;
        in_flight.update(|n| *n += 1);
        let task = async move {
            task.await;
            in_flight.try_update(|n| *n = n.saturating_sub(1));
        };
        let spawn = move || untrack(|| leptos::task::spawn_local_scoped_with_cancellation(task));
        match owner {
            Some(owner) => owner.with(spawn),
            None => spawn(),
        }
    }
}
