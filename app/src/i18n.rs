//! Translations (zh-CN and en). Every user-visible string is a [`Msg`]; the `messages!` table
//! makes a missing translation a compile error. The language comes from the `lang` cookie, else
//! the request's Accept-Language, and is written into `<html lang>` so that hydration renders the
//! same language the server did.

use leptos::prelude::*;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum Lang {
    #[default]
    En,
    ZhCn,
}

/// The cookie that remembers a chosen language.
pub const LANG_COOKIE: &str = "lang";

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::ZhCn, Lang::En];

    /// The BCP 47 tag used in `<html lang>`, the cookie and `/lang/{code}`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// The language's own name, shown in the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::ZhCn => "中文",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::ZhCn),
            _ => None,
        }
    }

    /// Picks the best supported language from an Accept-Language header, by q-value.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(Lang, f32)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let Some(lang) = pieces.next().and_then(Lang::from_code) else {
                continue;
            };
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(_, best_q)| q > best_q) {
                best = Some((lang, q));
            }
        }
        best.map(|(lang, _)| lang)
    }

    /// The cookie's value wins over the header; English when neither names a supported language.
    pub fn negotiate(cookie_header: Option<&str>, accept_language: Option<&str>) -> Lang {
        let from_cookie = cookie_header.and_then(|cookies| {
            cookies.split(';').find_map(|c| {
                let (name, value) = c.trim().split_once('=')?;
                (name == LANG_COOKIE)
                    .then(|| Lang::from_code(value))
                    .flatten()
            })
        });
        from_cookie
            .or_else(|| accept_language.and_then(Lang::from_accept_language))
            .unwrap_or_default()
    }
}

macro_rules! messages {
    ($($key:ident => $en:literal, $zh:literal;)*) => {
        /// A user-visible string. It travels (in server functions' answers) by its name: serde's
        /// derived code for an enum this large would weigh tens of KiB in the browser's bundle.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Msg { $($key),* }

        impl Msg {
            pub const ALL: &'static [Msg] = &[$(Msg::$key),*];
            const NAMES: &'static [&'static str] = &[$(stringify!($key)),*];

            /// The variant's name, `TopUpCredited`.
            pub fn name(self) -> &'static str {
                Self::NAMES[self as usize]
            }

            pub fn from_name(name: &str) -> Option<Msg> {
                Self::NAMES.iter().position(|n| *n == name).map(|i| Self::ALL[i])
            }

            pub fn text(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((Msg::$key, Lang::En) => $en, (Msg::$key, Lang::ZhCn) => $zh,)*
                }
            }
        }
    };
}

messages! {
    AppName => "Billing Center", "费用中心";
    NavOverview => "Overview", "概览";
    NavWallet => "Wallet", "账户钱包";
    NavBills => "Bills", "账单管理";
    NavWorkspaces => "Workspaces", "工作空间";
    NavSupport => "Support", "支持中心";
    NavAccount => "Account", "账号管理";
    NavPreview => "Deduction preview", "扣费预览";
    Language => "Language", "语言";
    SkipToContent => "Skip to content", "跳到正文";
    NotFoundTitle => "Page not found", "页面不存在";
    NotFoundBody => "There is no page at this address.", "此地址没有页面。";
    BackToOverview => "Back to the overview", "返回概览";
    SectionUnavailable => "This section opens once your account is set up; it is not available in this version yet.",
        "账户开通后即可使用此栏目；当前版本尚未提供。";
    OverviewTitle => "Billing Center", "费用中心";
    OverviewIntro => "Pay-as-you-go billing for your workspaces: one wallet pays every workspace's daily bill in a fixed order.",
        "按量付费的工作空间计费：一个账户钱包按固定顺序支付每个工作空间的日账单。";
    OverviewOrderTitle => "The deduction order", "扣费顺序";
    OverviewOrderAccount => "Billing Center account: regular vouchers → discount vouchers → prepaid cards → cash → arrears.",
        "费用中心账户结算：普通代金券 → 折扣代金券 → 储值卡 → 现金 → 欠费。";
    OverviewOrderCloud => "Cloud account: regular vouchers → discount vouchers → prepaid cards → cloud account.",
        "云账号结算：普通代金券 → 折扣代金券 → 储值卡 → 云账号。";
    OverviewOrderRestricted => "SMS and dial testing never use vouchers.", "短信和拨测不使用代金券。";
    OverviewTryPreview => "Try the deduction preview", "试用扣费预览";
    PreviewTitle => "Deduction preview", "扣费预览";
    PreviewIntro => "Enter a wallet and a bill to see which instrument pays what. Nothing is charged.",
        "输入钱包和账单，查看每一项由什么支付。不会产生任何扣费。";
    Settlement => "Settlement method", "结算方式";
    SettlementAccount => "Billing Center account", "费用中心账户";
    SettlementCloud => "Cloud account", "云账号";
    ChargeTime => "Charge time (UTC+8)", "扣费时间（UTC+8）";
    WalletTitle => "Wallet", "钱包";
    Cash => "Cash", "现金";
    Arrears => "Arrears", "欠费";
    Cloud => "Cloud account", "云账号";
    Instruments => "Vouchers and prepaid cards", "代金券和储值卡";
    Kind => "Kind", "类型";
    KindNone => "(none)", "（无）";
    Balance => "Balance", "余额";
    ValidFrom => "Valid from", "生效日期";
    ValidUntil => "Valid until (exclusive)", "失效日期（不含）";
    RegularVoucher => "Regular voucher", "普通代金券";
    DiscountVoucher => "Discount voucher", "折扣代金券";
    PrepaidCard => "Prepaid card", "储值卡";
    BillTitle => "Bill", "账单";
    Item => "Billing item", "计费项";
    Amount => "Amount", "金额";
    PaidBy => "Paid by", "支付来源";
    Calculate => "Calculate", "计算";
    PlanTitle => "Deduction plan", "扣费明细";
    Totals => "Totals", "合计";
    Total => "Total", "总计";
    WalletAfter => "Wallet after the charge", "扣费后的钱包";
    NoCharges => "Enter at least one charge to see the plan.", "请至少输入一项费用以查看扣费明细。";
    FixErrors => "Correct the highlighted fields to see the plan.", "请更正标出的字段以查看扣费明细。";
    ErrNotANumber => "Enter an amount like 12.34.", "请输入金额，例如 12.34。";
    ErrNegative => "The amount cannot be negative.", "金额不能为负数。";
    ErrTooPrecise => "At most 2 decimal places (fen).", "最多两位小数（分）。";
    ErrTooLarge => "The amount is too large.", "金额过大。";
    ErrRequired => "Required.", "必填。";
    ErrDate => "Enter a date.", "请输入日期。";
    ErrUnknownChoice => "Choose one of the listed options.", "请从列表中选择。";
    ErrDateTime => "Enter a date and time.", "请输入日期和时间。";
    ErrCashAndArrears => "Cash and arrears cannot both be above zero.", "现金和欠费不能同时大于零。";
    ErrEmptyValidity => "Valid until must be after valid from.", "失效日期必须晚于生效日期。";
    ItemTimeSeries => "Time series", "时间线";
    ItemLogs => "Logs", "日志";
    ItemBackupLogs => "Backup log data", "备份日志";
    ItemNetwork => "Network (hosts)", "网络（主机）";
    ItemApmTrace => "APM traces", "应用性能 Trace";
    ItemApmProfile => "APM profiles", "应用性能 Profile";
    ItemRumPv => "RUM page views", "用户访问 PV";
    ItemSessionReplay => "Session replay", "会话重放";
    ItemDialTesting => "Dial testing", "拨测";
    ItemTaskCalls => "Task calls", "任务调用";
    ItemSms => "SMS", "短信";
    ItemDatakit => "DataKit (hosts)", "DataKit（主机）";
    NavSignIn => "Sign in", "登录";
    NavSignUp => "Sign up", "注册";
    SignOut => "Sign out", "退出登录";
    SignInTitle => "Sign in to Billing Center", "登录费用中心";
    SignUpTitle => "Create a Billing Center account", "注册费用中心账号";
    Login => "Username or email", "用户名或邮箱";
    Username => "Username", "用户名";
    UsernameHint => "3–32 of a–z, 0–9, _ and -. It cannot be changed later.", "3–32 位小写字母、数字、_ 或 -，注册后不可修改。";
    Email => "Email", "邮箱";
    Phone => "Phone (optional)", "手机号（选填）";
    Password => "Password", "密码";
    PasswordHint => "8–128 characters; not your username and not a common password.", "8–128 个字符；不能与用户名相同，也不能是常见密码。";
    NoAccountYet => "No account yet?", "还没有账号？";
    HaveAccount => "Already have an account?", "已有账号？";
    SignedOut => "You have signed out.", "您已退出登录。";
    ProfileTitle => "Profile", "个人资料";
    ContactName => "Contact name", "联系人";
    Company => "Company", "公司";
    Save => "Save", "保存";
    Saved => "Saved.", "已保存。";
    PasswordTitle => "Change password", "修改密码";
    CurrentPassword => "Current password", "当前密码";
    NewPassword => "New password", "新密码";
    PasswordChanged => "Password changed. Your other sessions have been signed out.", "密码已修改，其他设备上的登录已退出。";
    Welcome => "Welcome! Your account is ready.", "欢迎！您的账号已开通。";
    ForgotPassword => "Forgot your password?", "忘记密码？";
    ResetPasswordTitle => "Reset your password", "重置密码";
    ResetPasswordIntro => "Enter your username or email. If an account has it, we mail a link to its address; the link works once, for 30 minutes.", "请输入用户名或邮箱。如果存在该账号，我们会向其邮箱发送一个重置链接，链接 30 分钟内有效，只能使用一次。";
    SendResetLink => "Mail me a link", "发送重置链接";
    ResetLinkSent => "If an account has this login, a link is on its way to its address. Check your mail (and the spam folder).", "如果存在该账号，重置链接已发往其邮箱。请查收邮件（包括垃圾邮件）。";
    ChooseNewPassword => "Choose a new password", "设置新密码";
    SetNewPassword => "Set the new password", "确认新密码";
    PasswordResetDone => "Your password is set. Every session of the account has been signed out: sign in with the new password.", "密码已重置，该账号的所有登录均已退出，请使用新密码登录。";
    ConfirmEmailTitle => "Confirm your email address", "确认邮箱地址";
    EmailConfirmed => "Your email address is confirmed: alerts and receipts will go there.", "邮箱地址已确认，提醒与通知将发往此地址。";
    EmailNotConfirmed => "Your email address is not confirmed yet: until it is, we send it nothing but the confirmation link.", "您的邮箱地址尚未确认：确认之前，除确认链接外我们不会向其发送任何邮件。";
    ResendConfirmation => "Mail the link again", "重新发送确认链接";
    ConfirmationSent => "A confirmation link is on its way.", "确认链接已发送。";
    NotificationsTitle => "Notifications", "消息通知";
    NotificationsIntro => "What we mail you about, and in which language.", "选择我们通过邮件通知您的内容和语言。";
    LowBalanceThreshold => "Low balance alert below (¥)", "余额低于此值时提醒（¥）";
    LowBalanceThresholdHint => "After a bill, when cash, vouchers and prepaid cards together fall below this: once per crossing.", "账单扣费后，当现金、代金券与预付卡合计低于此值时提醒（每次跌破提醒一次）。";
    AlertLowBalance => "Low balance", "余额不足";
    AlertArrears => "Arrears, reminders, and the top-up that clears them", "欠费、欠费提醒及结清通知";
    AlertTopUp => "Top-up credited", "充值到账";
    AlertExpiring => "Vouchers and prepaid cards expiring within 7 days", "7 天内到期的代金券与预付卡";
    AlertDailyCost => "A workspace's daily cost above its threshold", "工作空间日消费超过阈值";
    MailLanguage => "Language of mail", "邮件语言";
    SettlesThrough => "This workspace settles through", "此工作空间结算方式：";
    SettleByAccount => "this Billing Center account", "费用中心账户";
    CloudAliyun => "Alibaba Cloud", "阿里云";
    CloudAws => "AWS", "亚马逊云科技 AWS";
    CloudHuawei => "Huawei Cloud", "华为云";
    CloudColumn => "Cloud", "云平台";
    CloudAccountId => "Cloud account ID (Alibaba aliUid)", "云账号 ID（阿里云 aliUid）";
    CloudInstanceId => "Instance ID", "实例 ID";
    CloudInstanceHint => "As the marketplace shows it for your subscription. The method may change once a calendar month; the next bill is paid the new way.", "云市场订阅中显示的实例 ID。结算方式每个自然月只能更改一次，从下一张账单起生效。";
    DailyCostThreshold => "Mail me when a day costs more than (¥)", "单日费用超过此值时邮件提醒（¥）";
    DailyCostThresholdHint => "Leave empty to turn the alert off.", "留空则关闭此提醒。";
    ErrInvalidToken => "This link is unknown, used or expired. Ask for a new one.", "该链接无效、已使用或已过期，请重新获取。";
    ErrThreshold => "Enter an amount from 0 to 100,000,000.00.", "请输入 0 到 100,000,000.00 之间的金额。";
    ErrLanguage => "Choose 中文 or English.", "请选择中文或 English。";
    ErrCloudInstance => "No active subscription of this cloud account has this instance ID.", "该云账号下没有此实例 ID 的有效订阅。";
    ErrCloudEnded => "This subscription has ended.", "该订阅已结束。";
    ErrCloudOther => "This instance settles for another Billing Center account.", "该实例已用于其他费用中心账户的结算。";
    ErrSettlementMonth => "The settlement method changed this month already; it may change again next month.", "本月已更改过结算方式，下个月才能再次更改。";
    ErrCloudField => "Enter the cloud account ID and the instance ID.", "请输入云账号 ID 和实例 ID。";
    ErrEmailConfirmed => "This address is already confirmed.", "该邮箱地址已确认。";
    MailOutbox => "Mail", "邮件";
    OpsFailingMetering => "Cloud metering not pushed yet", "尚未推送的云市场计量";
    MailPending => "Waiting", "待发送";
    MailRetrying => "Retrying", "重试中";
    MailSent => "Sent", "已发送";
    MailFailed => "Given up", "已放弃";
    MailNoSmtp => "SMTP_URL is not set: mail waits in the outbox until it is.", "未设置 SMTP_URL：邮件将保留在发件箱中，直至配置完成。";
    MailRecipient => "To", "收件人";
    MailSubject => "Subject", "主题";
    MailError => "Last error", "最近错误";
    SignInToSee => "Sign in to see your account.", "请登录后查看账号。";
    SignedInAs => "Signed in as", "当前登录";
    ErrUsernameInvalid => "3–32 characters of a–z, 0–9, _ and -.", "用户名须为 3–32 位小写字母、数字、_ 或 -。";
    ErrUsernameTaken => "This username is taken.", "该用户名已被占用。";
    ErrEmailInvalid => "Enter an email like name@example.com.", "请输入有效邮箱，例如 name@example.com。";
    ErrEmailTaken => "An account with this email already exists.", "该邮箱已注册。";
    ErrPhoneInvalid => "Enter 5–20 digits (+, spaces and dashes allowed).", "请输入 5–20 位数字（可含 +、空格和 -）。";
    ErrTextInvalid => "Too long, or contains control characters.", "内容过长或包含控制字符。";
    ErrPasswordTooShort => "At least 8 characters.", "至少 8 个字符。";
    ErrPasswordTooLong => "At most 128 characters.", "最多 128 个字符。";
    ErrPasswordSameAsUsername => "The password must not be the username.", "密码不能与用户名相同。";
    ErrPasswordTooCommon => "This is one of the most common passwords; choose another.", "这是最常见的密码之一，请换一个。";
    ErrInvalidCredentials => "The login or the password is wrong.", "用户名/邮箱或密码错误。";
    ErrWrongCurrentPassword => "The current password is wrong.", "当前密码错误。";
    ErrRateLimited => "Too many attempts. Try again later.", "尝试次数过多，请稍后再试。";
    ErrOperatorDisabled => "This operator is disabled.", "该运营账号已停用。";
    ErrSessionEnded => "Your session has ended. Sign in again.", "登录已失效，请重新登录。";
    ErrCsrf => "The form expired. Please try again.", "表单已失效，请重试。";
    ErrInternal => "Something went wrong on our side. Try again.", "系统出错，请重试。";
    ErrNetwork => "The server could not be reached. Check the connection and try again.", "无法连接服务器，请检查网络后重试。";
    ErrNotFound => "It is not there (or not yours). Go back and try again.", "未找到（或不属于您），请返回重试。";
    ErrRedeemBy => "The codes must stay redeemable for some time.", "激活码的兑换期限必须晚于现在。";
    Working => "Working…", "处理中…";
    Loading => "Loading…", "加载中…";
    VoucherBalance => "Vouchers", "代金券";
    PrepaidCardBalance => "Prepaid cards", "储值卡";
    CashBalance => "Cash (negative: arrears)", "现金（负数为欠费）";
    SettlementAccountTitle => "Settlement account", "结算账户";
    RecentMovements => "Recent movements", "最近收支";
    NoMovements => "No movements yet.", "暂无收支记录。";
    MovementTime => "Time (UTC)", "时间（UTC）";
    MovementKind => "Movement", "类型";
    MoveCashCredit => "Top-up", "充值";
    MoveVoucherIssue => "Voucher issued", "发放代金券";
    MoveVoucherActivation => "Voucher activated", "激活代金券";
    MoveCardPurchase => "Prepaid card bought", "购买储值卡";
    MoveCardAssignment => "Prepaid card assigned", "分配储值卡";
    MoveBillCharge => "Daily bill", "日账单扣费";
    MoveExpiry => "Expired", "过期";
    OpsTitle => "Operations", "运营后台";
    OpsSignInTitle => "Operator sign-in", "运营人员登录";
    OpsSignedInAs => "Operator", "运营人员";
    AuditTitle => "Audit log", "审计日志";
    AuditWhen => "When (UTC)", "时间（UTC）";
    AuditAction => "Action", "操作";
    AuditAccount => "Account", "账户";
    AuditDetail => "Detail", "详情";
    AuditFrom => "From", "来源";
    TopUp => "Top up", "充值";
    ActivateVoucher => "Activate voucher", "激活代金券";
    BuyPrepaidCard => "Buy prepaid card", "购买储值卡";
    TopUpAmount => "Amount (CNY)", "金额（元）";
    TopUpAmountHint => "0.01 to 1,000,000.00", "0.01 至 1,000,000.00";
    PayMethod => "Payment method", "支付方式";
    MethodAlipay => "Alipay", "支付宝";
    MethodBankTransfer => "Bank transfer", "银行转账";
    ContinueToPay => "Continue to payment", "去支付";
    ActivationCode => "Activation code", "激活码";
    Activate => "Activate", "激活";
    Denomination => "Denomination (CNY, a multiple of 100)", "面额（元，100 的整数倍）";
    Buy => "Buy", "购买";
    GiftVoucher => "Gift discount voucher", "赠送折扣券";
    CashAfterPurchase => "Cash left after the purchase", "购买后现金余额";
    NoGift => "None", "无";
    TopUpsTitle => "Recent top-ups", "最近充值";
    NoTopUps => "No top-ups yet.", "暂无充值记录。";
    NoVouchers => "No vouchers yet.", "暂无代金券。";
    NoCards => "No prepaid cards yet.", "暂无储值卡。";
    ColNumber => "Number", "编号";
    ColKind => "Type", "类型";
    ColFaceValue => "Face value", "面值";
    ColBalance => "Balance", "余额";
    ColStatus => "Status", "状态";
    ColActivated => "Activated", "激活时间";
    ColValidity => "Valid (UTC)", "有效期（UTC）";
    ColPurchased => "Purchased", "购买时间";
    ColExpires => "Expires", "到期时间";
    ColPurchaseType => "Purchase type", "购买类型";
    ColReference => "Reference", "参考号";
    ColMethod => "Method", "方式";
    ColCreated => "Created (UTC)", "创建时间（UTC）";
    StatusUnused => "Not yet valid", "未生效";
    StatusActive => "Active", "可用";
    StatusUsedUp => "Used up", "已用完";
    StatusExpired => "Expired", "已过期";
    StatusPending => "Awaiting payment", "待支付";
    StatusPaid => "Credited", "已到账";
    StatusClosed => "Closed unpaid", "已关闭（未支付）";
    KindRegular => "Regular voucher", "普通代金券";
    KindDiscount => "Discount voucher", "折扣代金券";
    OriginIssued => "Issued", "发放";
    OriginCode => "Activation code", "激活码";
    OriginGift => "Card gift", "购卡赠送";
    OriginPurchased => "Bought", "购买";
    OriginAssigned => "Assigned", "分配";
    VoucherActivated => "Voucher activated.", "代金券已激活。";
    CardBought => "Prepaid card bought.", "储值卡购买成功。";
    NewKeyTitle => "New API key for", "新的 API 密钥：";
    NewKeyHelp => "Copy it now: it is shown only this once. Send it as Authorization: Bearer <key> to POST /api/v1/usage.", "请立即复制：密钥只显示这一次。调用 POST /api/v1/usage 时以 Authorization: Bearer <密钥> 发送。";
    BindWorkspace => "Bind a workspace", "绑定工作空间";
    WorkspaceId => "Workspace ID", "工作空间 ID";
    WorkspaceName => "Name", "名称";
    Bind => "Bind", "绑定";
    YourWorkspaces => "Your workspaces", "已绑定的工作空间";
    NoWorkspaces => "No workspace is bound to this account yet.", "此账户尚未绑定工作空间。";
    ApiKey => "API key", "API 密钥";
    BoundAt => "Bound", "绑定时间";
    RotateKey => "New key", "更换密钥";
    UsageApiHelp => "Each workspace reports its daily usage with its own key; every day is billed just after midnight.", "每个工作空间用自己的密钥上报每日用量；每天零点后出账扣费。";
    Consumption => "Consumption details", "消费明细";
    Transactions => "Income and expenditure", "收支明细";
    MonthlyBills => "Monthly bills", "月账单";
    VoucherDetails => "Voucher details", "代金券明细";
    PrepaidCardDetails => "Prepaid card details", "储值卡明细";
    DateInvalid => "Enter a date like 2026-11-01.", "请输入日期，例如 2026-11-01。";
    Day => "Day", "日期";
    Retention => "Retention", "数据保存";
    Quantity => "Quantity", "用量";
    UnitPrice => "Unit price", "单价";
    PaidByVouchers => "Vouchers", "代金券";
    PaidByCards => "Prepaid cards", "储值卡";
    PaidByCash => "Cash", "现金";
    PaidByCloud => "Cloud account", "云账号";
    PaidByArrears => "Arrears", "欠费";
    When => "Time", "时间";
    Memo => "Reference", "摘要";
    CashAfter => "Cash after", "现金余额";
    VouchersAfter => "Vouchers after", "代金券余额";
    CardsAfter => "Cards after", "储值卡余额";
    ArrearsAfter => "Arrears after", "欠费余额";
    Month => "Month", "月份";
    DailyBills => "Daily bills", "日账单数";
    From => "From", "开始日期";
    To => "To", "结束日期";
    Filter => "Show", "查询";
    ExportCsv => "Export CSV", "导出 CSV";
    NothingInPeriod => "Nothing in this period.", "此期间没有记录。";
    Pages => "Pages", "分页";
    Previous => "Previous", "上一页";
    Next => "Next", "下一页";
    SandboxBrand => "Alipay sandbox", "支付宝沙箱";
    SandboxCheckoutTitle => "Alipay sandbox checkout", "支付宝沙箱收银台";
    SandboxWarning => "A local sandbox: no real money moves.", "本地沙箱，不会真实扣款。";
    SandboxMerchant => "Merchant", "商户";
    SandboxOrder => "Order", "订单";
    SandboxSubject => "Subject", "商品";
    SandboxQrLabel => "QR code of this checkout", "本收银台的二维码";
    SandboxBackToMerchant => "Back to the merchant", "返回商家";
    SandboxPaid => "Paid — you can close this page", "支付成功，可以关闭此页面";
    SandboxScanOrPay => "Scan with a phone, or pay here", "扫码或点击付款";
    SandboxPay => "Pay", "付款";
    SandboxPayLost => "Pay, but lose the notification (to try reconciliation)", "付款但丢失通知（用于测试对账）";
    SandboxRefused => "Request refused", "请求被拒绝";
    PreviewWithWallet => "Preview how a bill would be paid from this wallet", "用当前钱包预览账单扣费";
    BankTransferTitle => "Top up by bank transfer", "银行转账充值";
    BankTransferHelp => "Transfer the amount to the account below and write the reference on the transfer. Your cash is credited when the transfer arrives.", "请向以下账户转账，并在转账备注中填写参考号。款项到账后自动计入现金余额。";
    PayeeName => "Payee", "收款户名";
    PayeeBank => "Bank", "开户行";
    PayeeAccount => "Account number", "收款账号";
    TransferReference => "Reference (write it on the transfer)", "转账备注（请务必填写）";
    TopUpCredited => "Credited to your cash.", "已计入现金余额。";
    ScanToPay => "Scan this code with the Alipay app to pay", "打开支付宝“扫一扫”，扫码付款";
    ScanQrCodeLabel => "Alipay payment QR code", "支付宝付款二维码";
    PaymentUpdatesItself => "This page updates by itself once the payment arrives.", "付款到账后，本页会自动更新。";
    PayOnAlipayWebsite => "Pay on Alipay's website instead", "改为在支付宝网页付款";
    PayInAlipayApp => "Pay with Alipay", "去支付宝付款";
    WeChatBlocksAlipay => "Alipay cannot be opened inside WeChat", "微信内无法打开支付宝";
    WeChatOpenInBrowser => "Tap ··· in the top right corner, choose “Open in browser”, and pay there. This top-up waits for you.", "请点击右上角的“···”，选择“在浏览器中打开”，在浏览器中完成付款。本次充值会为您保留。";
    WeChatCopyAddress => "Or copy this address into your phone's browser:", "或将以下网址复制到手机浏览器中打开：";
    TopUpWaiting => "Waiting for the payment to be confirmed. Refresh this page once you have paid.", "正在等待支付结果确认，支付完成后请刷新本页。";
    Refresh => "Refresh", "刷新";
    BackToWallet => "Back to the wallet", "返回钱包";
    TopUpNotFound => "No such top-up.", "没有找到该充值记录。";
    SignInForWallet => "Sign in to see your wallet.", "请登录后查看钱包。";
    ErrAmountInvalid => "Enter an amount from 0.01 to 1,000,000.00 with at most two decimals.", "请输入 0.01 至 1,000,000.00 之间、最多两位小数的金额。";
    ErrWorkspaceId => "A workspace ID is 1 to 64 letters, digits, '-', '_' or '.'.", "工作空间 ID 为 1 到 64 个字母、数字、“-”、“_”或“.”。";
    ErrWorkspaceName => "Give the workspace a name of 1 to 100 characters.", "请填写 1 到 100 个字符的名称。";
    ErrWorkspaceAlreadyBound => "This workspace is already bound to your account.", "该工作空间已绑定到您的账户。";
    ErrWorkspaceBoundElsewhere => "This workspace is bound to another billing account.", "该工作空间已绑定到其他费用中心账户。";
    ErrWorkspaceNotFound => "No such workspace is bound to your account.", "您的账户下没有该工作空间。";
    ErrConsoleTokenRequired => "Binding a workspace starts in the console: open its billing panel and choose to bind it to a Billing Center account.", "请从控制台发起绑定：在工作空间的费用面板中选择绑定到费用中心账户。";
    ErrConsoleTokenInvalid => "The link from the console is not valid or has expired (it lasts 15 minutes). Start again from the console.", "控制台链接无效或已过期（有效期 15 分钟），请从控制台重新发起。";
    ErrConsoleTokenOtherWorkspace => "The link from the console is for another workspace.", "该控制台链接属于其他工作空间。";
    ErrForbiddenRole => "Your role in this workspace does not allow this.", "您在该工作空间的角色无权执行此操作。";
    ErrUnsettledUsage => "This workspace has usage not settled yet; it can be unbound once its last day is billed.", "该工作空间仍有未结算的用量，待最后一天出账后方可解绑。";
    ErrConsoleNotConfigured => "This Billing Center is not connected to a console.", "此费用中心未连接控制台。";
    BindFromConsole => "Bind the workspace from the console", "绑定控制台的工作空间";
    BindFromConsoleHelp => "The console sent you here to bind this workspace to your Billing Center account. Its daily bills will be paid from this account.", "控制台将您带到这里，把该工作空间绑定到您的费用中心账户。其日账单将从本账户支付。";
    SignInToBind => "Sign in, or sign up, to bind the workspace to your account.", "请登录或注册，以将工作空间绑定到您的账户。";
    ErrCreditCode => "This is not a unified social credit code: 18 characters, the last a check character.", "这不是有效的统一社会信用代码：应为 18 位，最后一位为校验码。";
    ErrEnterpriseField => "Check this field.", "请检查此项。";
    ErrVerificationPending => "A submission is waiting for review; it can be changed once it is decided.", "已有提交在审核中，审核完成后才能修改。";
    ErrVerificationNotPending => "Nothing of this account waits for review.", "该账户没有待审核的提交。";
    SupportTitle => "Support", "支持中心";
    SupportIntro => "Ask us about bills, payments, invoices or your account. We answer in the ticket and by mail.", "关于账单、支付、发票或账号的问题，请提交工单。我们会在工单中回复并发送邮件通知。";
    NewTicket => "New ticket", "提交工单";
    TicketKind => "Type", "工单类型";
    TicketTitleField => "Title", "标题";
    TicketDescription => "Description", "问题描述";
    TicketFiles => "Attachments", "附件";
    TicketFilesHint => "PNG, JPG, PDF, XLSX, ZIP or TXT; up to 5 files of 8 MB each.", "支持 PNG、JPG、PDF、XLSX、ZIP、TXT；最多 5 个，每个不超过 8 MB。";
    SubmitTicket => "Submit ticket", "提交";
    TicketTypeBilling => "Billing", "账单";
    TicketTypePayment => "Payment", "支付";
    TicketTypeInvoice => "Invoice", "发票";
    TicketTypeAccount => "Account", "账号";
    TicketTypeCancelAccount => "Cancel account", "注销账号";
    TicketTypeOther => "Other", "其他";
    TicketStateOpen => "Open", "待处理";
    TicketStateInProgress => "In progress", "处理中";
    TicketStateReplied => "Replied", "已回复";
    TicketStateClosed => "Closed", "已关闭";
    TicketStateWithdrawn => "Withdrawn", "已撤销";
    TicketState => "State", "状态";
    AnyState => "Any state", "全部状态";
    AnyType => "Any type", "全部类型";
    TitleContains => "Title contains", "标题包含";
    NoTickets => "No tickets.", "暂无工单。";
    TicketOpenedAt => "Opened", "提交时间";
    TicketUpdatedAt => "Last activity", "最近更新";
    FromYou => "You", "您";
    FromSupport => "Support", "支持人员";
    ReplyToTicket => "Reply", "回复";
    SendReply => "Send reply", "发送回复";
    CloseTicket => "Close ticket", "关闭工单";
    WithdrawTicket => "Withdraw ticket", "撤销工单";
    RateTicket => "Rate how we handled it", "为本次服务评分";
    SendRating => "Rate", "评分";
    RatedAs => "Your rating", "您的评分";
    TicketFinal => "This ticket takes no more replies.", "该工单已结束，不能再回复。";
    BackToTickets => "All tickets", "全部工单";
    OpsQueueTitle => "Work queue", "待办队列";
    OpsReviews => "Enterprise verifications to review", "待审核的企业认证";
    OpsUnassignedTickets => "Tickets nobody took", "未分配的工单";
    OpsMyTickets => "My tickets waiting for an answer", "待我回复的工单";
    OpsTake => "Take", "认领";
    OpsAnswer => "Answer", "回复客户";
    OpsNothingWaits => "Nothing waits.", "没有待办事项。";
    ErrTicketField => "Fill this in (at most 100 characters for a title, 5,000 for a message).", "请填写此项（标题最多 100 字，内容最多 5000 字）。";
    ErrAttachmentTooLarge => "A file is larger than 8 MB.", "有文件超过 8 MB。";
    ErrAttachmentType => "Only PNG, JPG, PDF, XLSX, ZIP or text files (checked by their content).", "仅支持 PNG、JPG、PDF、XLSX、ZIP 或文本文件（按文件内容检查）。";
    ErrAttachmentEmpty => "A file is empty.", "有文件为空。";
    ErrTooManyAttachments => "At most 5 files.", "最多 5 个附件。";
    ErrAttachmentNotFound => "That file is not there.", "文件不存在。";
    ErrAttachmentInUse => "That file is attached to another message already.", "该文件已附加到其他消息。";
    ErrTicketNotFound => "That ticket is not there.", "工单不存在。";
    ErrTicketState => "The ticket's state does not allow this any more.", "工单当前状态不允许此操作。";
    ErrTicketNotClosed => "Only a closed ticket is rated.", "只有已关闭的工单可以评分。";
    ErrTicketRated => "This ticket is rated already.", "该工单已评分。";
    ErrNotVerified => "Both accounts must be verified as an enterprise first.", "两个账户都需先完成企业认证。";
    ErrDifferentEnterprise => "The two accounts are verified as different enterprises.", "两个账户认证的企业不同。";
    EnterpriseTitle => "Enterprise verification", "企业认证";
    EnterpriseIntro => "Verify your account as an enterprise: an operator checks the business licence. Moving a workspace between two accounts (change binding) needs both verified as the same enterprise.", "完成企业认证：运营人员会核对营业执照。在两个账户之间换绑工作空间，需要两个账户都认证为同一企业。";
    EnterpriseName => "Enterprise name", "企业名称";
    CreditCodeField => "Unified social credit code", "统一社会信用代码";
    ContactNameField => "Contact name", "联系人";
    ContactPhoneField => "Contact phone", "联系电话";
    BusinessLicence => "Business licence", "营业执照";
    LicenceHint => "A photo or scan: PNG, JPG or PDF, at most 8 MB. Leave empty to keep the one on file.", "照片或扫描件：PNG、JPG 或 PDF，不超过 8 MB。留空则沿用已提交的文件。";
    SubmitVerification => "Submit for review", "提交审核";
    VerificationUnverified => "Not verified", "未认证";
    VerificationPending => "Waiting for review", "审核中";
    VerificationVerified => "Verified", "已认证";
    VerificationRejected => "Not approved", "未通过";
    VerificationWithdrawn => "Withdrawn", "已撤回";
    WithdrawSubmission => "Withdraw the submission", "撤回申请";
    RejectedBecause => "Why it was not approved:", "未通过原因：";
    LicenceOnFile => "Licence on file", "已提交的营业执照";
    OpsApprove => "Approve", "通过";
    OpsReject => "Reject", "驳回";
    OpsRejectReason => "Reason (shown to the customer)", "驳回原因（客户可见）";
    ErrLicenceRequired => "Attach the business licence.", "请上传营业执照。";
    ErrVerificationChanged => "The submission changed since you opened it: read it again before deciding.", "该申请在您打开后已变更，请重新查看后再审核。";
    ErrTicketAssigned => "Another operator has taken this ticket.", "该工单已被其他运营人员认领。";
    ChangeBindingTitle => "Move this workspace to your account", "将工作空间换绑到本账户";
    ChangeBindingHelp => "It is bound to another Billing Center account. It moves here only if both accounts are verified as the same enterprise: bills already made stay there, the next daily bill is yours, and it gets a new usage key.", "该工作空间已绑定到另一个费用中心账户。只有两个账户都认证为同一企业时才能换绑：已出的账单留在原账户，下一张日账单起由本账户结算，并会生成新的用量密钥。";
    ChangeBindingButton => "Change binding", "换绑";
    OpsAccountsTitle => "Customer accounts", "客户账户";
    OpsAccountsSearch => "Username, email, enterprise or workspace", "用户名、邮箱、企业或工作空间";
    OpsHistory => "Movements of money", "资金变动";
    MovesTitle => "Workspaces moved (change binding)", "换绑记录";
    MovedIn => "moved here from", "从以下账户换绑到本账户：";
    MovedOut => "moved to", "换绑到账户：";
    AwsSubscriptionReady => "Your AWS Marketplace subscription is ready", "您的 AWS Marketplace 订阅已就绪";
    AwsSignInToChoose => "Sign in, or sign up, to choose the workspaces it pays for.", "请登录或注册，然后选择由它付费的工作空间。";
    AwsChooseWorkspaces => "Choose the workspaces it pays for (a workspace changes its settlement method once a month). Your AWS account id and the instance:", "选择由它付费的工作空间（每个工作空间每月可更改一次结算方式）。您的 AWS 账号 ID 与实例：";
    AwsNoWorkspaces => "Bind a workspace first (below); then choose it here.", "请先在下方绑定工作空间，再回到这里选择。";
    SettleThroughAws => "Settle through AWS", "通过 AWS 结算";
    Unbind => "Unbind", "解绑";
    PanelTitle => "Workspace billing", "工作空间费用";
    PanelUnbound => "This workspace is not bound to a Billing Center account yet.", "该工作空间尚未绑定费用中心账户。";
    PanelNoUsage => "No usage reported.", "暂无用量。";
    PanelRecharge => "Top up", "充值";
    PanelBillingCenter => "Billing Center", "费用中心";
    PanelSettlementMethod => "Settlement method", "结算方式";
    PanelChangeBinding => "Change binding", "变更绑定";
    PanelAccount => "Settlement account", "结算账户";
    PanelVouchers => "Vouchers", "代金券";
    PanelPrepaidCards => "Prepaid cards", "储值卡";
    PanelUsageToday => "Usage today so far", "今日截至目前用量";
    PanelUsageYesterday => "Usage yesterday", "昨日用量";
    PanelCost => "Cost of", "费用";
    PanelPreviousMonth => "‹ Previous month", "‹ 上个月";
    PanelNextMonth => "Next month ›", "下个月 ›";
    PanelTotal => "Accumulated cost", "累计费用";
    PanelDailyCost => "Daily cost", "每日费用";
    PanelCostByItem => "Cost by billing item", "按计费项费用";
    PanelUsage30Days => "Usage over the last 30 days", "近 30 天用量";
    PanelUsageTable => "The numbers, day by day", "逐日数据";
    ErrMonthInvalid => "Give the month as YYYY-MM.", "月份格式应为 YYYY-MM。";
    ErrCodeNotFound => "No activation code matches. Check it and try again.", "激活码不存在，请核对后重试。";
    ErrCodeUsed => "This activation code has already been used.", "该激活码已被使用。";
    ErrCodeExpired => "This activation code has expired.", "该激活码已过期。";
    ErrInsufficientCash => "Not enough cash for this card. Top up first.", "现金余额不足，请先充值。";
    ErrDenomination => "A card costs 100 to 1,000,000, in steps of 100.", "储值卡面额须为 100 至 1,000,000 之间 100 的整数倍。";
    ErrMethod => "Choose a payment method.", "请选择支付方式。";
    OpsPaymentFlags => "Payment flags", "支付异常";
    OpsNoPaymentFlags => "Nothing the payment gateway said contradicts the books.", "支付网关的反馈与账目一致。";
    OpsPaymentFlagsHelp => "Each needs an operator: check the trade at the gateway, settle it with the customer, then resolve it (POST /api/v1/ops/payment-flags/{id}/resolve, with what was done).", "每项都需要运营处理：在支付网关核对交易，与客户处理后，将其标为已处理（POST /api/v1/ops/payment-flags/{id}/resolve，并写明处理方式）。";
    OpsSettlementFailures => "Settlement failures", "结算失败";
    OpsNoSettlementFailures => "Every settled day billed every workspace.", "所有已结算日期均已为每个工作空间出账。";
    OpsSettlementFailuresHelp => "Void the usage record at fault (POST /api/v1/ops/usage/void, with a reason), then settle the day again.", "作废出错的用量记录（POST /api/v1/ops/usage/void，需填写原因），然后重新结算该日。";
    ColReason => "Reason", "原因";
    ColDay => "Day", "日期";
    ColWorkspace => "Workspace", "工作空间";
    ErrFormInvalid => "This form is out of date. Reload the page and send it again.", "该表单已过期，请刷新页面后重新提交。";
    ErrFormAlreadySent => "This form was already sent with other values. Reload the page to send it again.", "该表单已用其他内容提交过。请刷新页面后重新提交。";
    ErrTopUpAlreadyPaid => "This reference code's top-up is already paid. Record a second transfer under its bank receipt number.", "该参考码对应的充值已到账。如为另一笔转账，请使用其银行回单号登记。";
    ErrTooManyPendingTopUps => "Ten online top-ups are already waiting for payment. Pay one of them (see the list below), or wait a day until they close.", "已有 10 笔在线充值等待付款。请先支付其中一笔（见下方列表），或等待一天后它们自动关闭。";
    ErrPaymentsUnavailable => "Online payment is not available on this server; top up by bank transfer.", "本服务器未开通在线支付，请通过银行转账充值。";
    SandboxBanner => "Sandbox payments: online top-ups are simulated and move no real money.", "沙箱支付：在线充值为模拟支付，不会产生真实资金往来。";
    ErrTooManyAttempts => "Too many wrong codes. Try again later.", "错误次数过多，请稍后再试。";
    ErrAccountUnknown => "No customer has this username.", "没有该用户名的客户。";
    ErrReferenceUsed => "This reference has already been credited.", "该参考号已入账。";
    ErrReferenceOther => "This reference code belongs to another customer's top-up.", "该参考号属于其他客户的充值。";
    ErrTopUpAmount => "This reference code is for a top-up of another amount. Record the transfer under the bank's own reference.", "该参考号对应的充值金额不同，请用银行流水号登记该笔转账。";
    ErrReferenceInvalid => "Enter the bank's reference (1–128 characters).", "请输入银行流水号（1–128 个字符）。";
    ErrFaceValue => "Enter a face value from 0.01 to 100,000.", "请输入 0.01 至 100,000 的面值。";
    ErrValidDays => "Enter 1 to 3,650 days.", "请输入 1 至 3650 天。";
    ErrCount => "Enter 1 to 10,000 codes.", "请输入 1 至 10000 个。";
    OpsBankTransferTitle => "Record a received bank transfer", "登记银行转账到账";
    OpsCustomer => "Customer username", "客户用户名";
    OpsReference => "Bank reference, or the customer's BT- code", "银行流水号或客户的 BT- 参考号";
    OpsRecord => "Record", "登记";
    OpsVoucherTitle => "Vouchers: issue to a customer, or generate codes", "代金券：发放给客户，或生成激活码";
    OpsVoucherHelp => "With a customer the voucher is issued to them; without one, a CSV file of activation codes is downloaded.", "填写客户则直接发放；不填则下载激活码 CSV 文件。";
    OpsFaceValue => "Face value (CNY)", "面值（元）";
    OpsValidDays => "Valid for (days from activation)", "有效天数（自激活起）";
    OpsCount => "Number of codes", "激活码数量";
    OpsIssue => "Issue", "发放";
    OpsCardTitle => "Assign a prepaid card", "分配储值卡";
    OpsAssign => "Assign", "分配";
    OpsDone => "Done:", "已完成：";
    DownloadCsv => "Download CSV", "下载 CSV";
}

/// The language of the current page, provided by [`crate::App`].
pub fn use_lang() -> Lang {
    use_context::<Lang>().unwrap_or_default()
}

/// The text of `msg` in the current page's language.
pub fn t(msg: Msg) -> &'static str {
    msg.text(use_lang())
}

impl serde::Serialize for Msg {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Msg {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Msg::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("no message is named '{name}'")))
    }
}

/// The heading of a column of the customers' CSV files (statements, voucher and prepaid card
/// details) in `lang`, by the column's field name in the JSON API. Server-side only: the files are
/// written by the server, so these texts stay out of the browser's bundle.
#[cfg(feature = "ssr")]
pub fn column_heading(field: &str, lang: Lang) -> Option<&'static str> {
    let (en, zh) = match field {
        "month" => ("Month", "月份"),
        "day" => ("Day", "日期"),
        "at" => ("Time", "时间"),
        "workspace_id" => ("Workspace", "工作空间"),
        "daily_bills" => ("Daily bills", "日账单数"),
        "total" => ("Total", "合计"),
        "item" => ("Billing item", "计费项"),
        "retention_days" => ("Retention (days)", "保存天数"),
        "quantity" => ("Quantity", "用量"),
        "units" => ("Billed units", "计费单位数"),
        "unit_price" => ("Unit price", "单价"),
        "amount" => ("Amount", "金额"),
        "vouchers" => ("Paid by vouchers", "代金券支付"),
        "prepaid_cards" => ("Paid by prepaid cards", "储值卡支付"),
        "cash" => ("Paid in cash", "现金支付"),
        "arrears" => ("Left in arrears", "欠费"),
        "cloud" => ("Paid through the cloud account", "云账号支付"),
        "kind" => ("Kind", "类型"),
        "memo" => ("Memo", "备注"),
        "cash_change" => ("Cash change", "现金变动"),
        "arrears_change" => ("Arrears change", "欠费变动"),
        "vouchers_change" => ("Vouchers change", "代金券变动"),
        "prepaid_cards_change" => ("Prepaid cards change", "储值卡变动"),
        "cash_after" => ("Cash after", "现金余额"),
        "arrears_after" => ("Arrears after", "欠费余额"),
        "vouchers_after" => ("Vouchers after", "代金券余额"),
        "prepaid_cards_after" => ("Prepaid cards after", "储值卡余额"),
        "number" => ("Number", "编号"),
        "origin" => ("Origin", "来源"),
        "purchase_type" => ("Purchase type", "购买方式"),
        "face_value" => ("Face value", "面额"),
        "denomination" => ("Denomination", "面额"),
        "balance" => ("Balance", "余额"),
        "status" => ("Status", "状态"),
        "activated_at" => ("Activated at", "激活时间"),
        "purchased_at" => ("Purchased at", "购买时间"),
        "valid_from" => ("Valid from", "生效时间"),
        "valid_until" => ("Valid until", "失效时间"),
        _ => return None,
    };
    Some(match lang {
        Lang::En => en,
        Lang::ZhCn => zh,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_has_both_translations() {
        for msg in Msg::ALL {
            for lang in Lang::ALL {
                assert!(
                    !msg.text(lang).trim().is_empty(),
                    "{msg:?} is empty in {lang:?}"
                );
            }
        }
    }

    #[test]
    fn chinese_texts_are_actually_translated() {
        let untranslated: Vec<_> = Msg::ALL
            .iter()
            .filter(|m| m.text(Lang::En) == m.text(Lang::ZhCn) && m.text(Lang::En).is_ascii())
            .collect();
        assert!(untranslated.is_empty(), "{untranslated:?}");
    }

    #[test]
    fn accept_language_picks_the_highest_supported_q() {
        assert_eq!(
            Lang::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Some(Lang::ZhCn)
        );
        assert_eq!(
            Lang::from_accept_language("fr-FR, en;q=0.5, zh;q=0.4"),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_accept_language("en;q=0.2, zh-TW;q=0.7"),
            Some(Lang::ZhCn)
        );
        assert_eq!(Lang::from_accept_language("fr, de"), None);
        assert_eq!(
            Lang::from_accept_language("zh;q=0, en;q=0.1"),
            Some(Lang::En)
        );
    }

    #[test]
    fn a_message_travels_by_its_name() {
        for &msg in Msg::ALL {
            let json = serde_json::to_string(&msg).unwrap();
            assert_eq!(json, format!("\"{}\"", msg.name()));
            assert_eq!(serde_json::from_str::<Msg>(&json).unwrap(), msg);
        }
        assert_eq!(Msg::TopUpCredited.name(), "TopUpCredited");
        assert!(serde_json::from_str::<Msg>("\"NoSuchMessage\"").is_err());
    }

    #[test]
    fn the_cookie_wins_over_the_header_and_english_is_the_default() {
        assert_eq!(
            Lang::negotiate(Some("a=1; lang=zh-CN"), Some("en")),
            Lang::ZhCn
        );
        assert_eq!(Lang::negotiate(Some("lang=xx"), Some("zh")), Lang::ZhCn);
        assert_eq!(Lang::negotiate(None, None), Lang::En);
        assert_eq!(Lang::negotiate(Some("other=zh"), Some("de")), Lang::En);
    }
}
