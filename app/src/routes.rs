//! Each page is a lazy route: its code is split out of the main WebAssembly bundle and loaded
//! with its first visit (`scripts/site.sh` splits the bundle; the server renders every page whole).

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

macro_rules! lazy_page {
    ($route:ident, $($page:ident)::+) => {
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <$($page)::+/> }.into_any()
            }
        }
    };
}

lazy_page!(PreviewRoute, crate::preview::PreviewPage);
lazy_page!(WalletRoute, crate::wallet::WalletPage);
lazy_page!(TopUpRoute, crate::wallet::TopUpPage);
lazy_page!(StatementsRoute, crate::statements::StatementsPage);
lazy_page!(WorkspacesRoute, crate::workspaces::WorkspacesPage);
lazy_page!(AccountRoute, crate::account::AccountPage);
lazy_page!(SignInRoute, crate::account::SignInPage);
lazy_page!(SignUpRoute, crate::account::SignUpPage);
lazy_page!(OpsRoute, crate::account::OpsPage);
lazy_page!(ResetPasswordRoute, crate::account::ResetPasswordPage);
lazy_page!(ConfirmEmailRoute, crate::account::ConfirmEmailPage);
lazy_page!(NotificationsRoute, crate::account::NotificationsPage);
lazy_page!(OverviewRoute, crate::pages::Overview);
lazy_page!(EmbeddedPanelRoute, crate::panel::EmbeddedPanelPage);
lazy_page!(OwnPanelRoute, crate::panel::OwnPanelPage);
lazy_page!(SupportRoute, crate::support::SupportPage);
lazy_page!(NewTicketRoute, crate::support::NewTicketPage);
lazy_page!(TicketRoute, crate::support::TicketPage);
lazy_page!(OpsTicketRoute, crate::account::OpsTicketPage);
lazy_page!(EnterpriseRoute, crate::account::EnterprisePage);
lazy_page!(OpsEnterpriseRoute, crate::account::OpsEnterprisePage);
lazy_page!(OpsAccountsRoute, crate::account::OpsAccountsPage);
lazy_page!(OpsAccountRoute, crate::account::OpsAccountPage);
