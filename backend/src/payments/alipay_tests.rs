//! RSA2 against material from outside this codebase: Alipay's documented string-to-sign example,
//! a signature OpenSSL made over it, and a real notification Alipay signed (from the tests of
//! Alipay's official Node SDK, alipay/alipay-sdk-nodejs-all test/alipay.test.ts).

use super::*;

const MERCHANT_PRIVATE: &str =
    include_str!("../../tests/fixtures/alipay/test_merchant_private_key.pem");
const MERCHANT_PUBLIC: &str =
    include_str!("../../tests/fixtures/alipay/test_merchant_public_key.pem");
const ALIPAY_PRIVATE: &str =
    include_str!("../../tests/fixtures/alipay/test_alipay_private_key.pem");

/// The request of Alipay's "自行实现签名" document (the values are signed raw, not URL-encoded).
fn documented_request() -> Params {
    let biz = r#"{"button":[{"actionParam":"ZFB_HFCZ","actionType":"out","name":"话费充值"},{"name":"查询","subButton":[{"actionParam":"ZFB_YECX","actionType":"out","name":"余额查询"},{"actionParam":"ZFB_LLCX","actionType":"out","name":"流量查询"},{"actionParam":"ZFB_HFCX","actionType":"out","name":"话费查询"}]},{"actionParam":"http://m.alipay.com","actionType":"link","name":"最新优惠"}]}"#;
    [
        ("app_id", "2014072300007148"),
        ("method", "alipay.mobile.public.menu.add"),
        ("charset", "GBK"),
        ("sign_type", "RSA2"),
        ("timestamp", "2014-07-24 03:07:50"),
        ("biz_content", biz),
        (
            "sign",
            "e9zEAe4TTQ4LPLQvETPoLGXTiURcxiAKfMVQ6Hrrsx2hmyIEGvSfAQzbLxHrhyZ48wOJXTsa",
        ),
        ("version", "1.0"),
        ("app_auth_token", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

const DOCUMENTED_CONTENT: &str = r#"app_id=2014072300007148&biz_content={"button":[{"actionParam":"ZFB_HFCZ","actionType":"out","name":"话费充值"},{"name":"查询","subButton":[{"actionParam":"ZFB_YECX","actionType":"out","name":"余额查询"},{"actionParam":"ZFB_LLCX","actionType":"out","name":"流量查询"},{"actionParam":"ZFB_HFCX","actionType":"out","name":"话费查询"}]},{"actionParam":"http://m.alipay.com","actionType":"link","name":"最新优惠"}]}&charset=GBK&method=alipay.mobile.public.menu.add&sign_type=RSA2&timestamp=2014-07-24 03:07:50&version=1.0"#;

/// `openssl dgst -sha256 -sign test_merchant_private_key.pem` over DOCUMENTED_CONTENT, base64.
const OPENSSL_SIGNATURE: &str = "UVqYvNiLhxVel1PB7mGthmpcQ7L70Qe5ePBVh1QbHdmiB5q9ES7AI1xHzNLESVixEN+an7sk5OUXhz0c+jsn/towNx3CPp5EVo9W74h8+VgJGz5KheBe/cR8IDoXeiSpSwgfsXKJw7ayScykwisHNR7o2Hxw9CMxqCVrGonD7n1GMHR6ayk1xHJXlxfLF9ICtP5g/5zIb4j50UOZ/A6aUb+eIvvNcLiM5C9sRABljTv38MExxRkmDb9WkkZo4d8C4t1yeQ8vgQAJMhfSz2uCIPXdUSJJT1TJn5gHuUh2EoAjhee8fkO4LGB6DmDmuq+spAJXOqLA0G63VeEHBMdYJQ==";

#[test]
fn the_request_string_to_sign_is_the_documented_one() {
    // sign dropped, empty app_auth_token dropped, sign_type kept, sorted by name.
    assert_eq!(
        content_to_sign(&documented_request(), &["sign"]),
        DOCUMENTED_CONTENT
    );
}

#[test]
fn rsa2_signatures_match_openssl_byte_for_byte() {
    let key = PrivateKey::parse(MERCHANT_PRIVATE).unwrap();
    assert_eq!(key.sign(DOCUMENTED_CONTENT), OPENSSL_SIGNATURE);
    let mut params = documented_request();
    sign_request(&mut params, &key);
    assert_eq!(params["sign"], OPENSSL_SIGNATURE);
    let public = PublicKey::parse(MERCHANT_PUBLIC).unwrap();
    assert_eq!(public, key.public_key());
    verify_request(&params, &public).unwrap();
    params.insert("timestamp".into(), "2014-07-24 03:07:51".into());
    assert_eq!(
        verify_request(&params, &public),
        Err(AlipayError::BadSignature)
    );
}

/// A TRADE_SUCCESS notification Alipay really sent, and Alipay's public key, from the Node SDK's tests.
fn alipay_sdk_notification() -> (Params, PublicKey) {
    let key = PublicKey::parse("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqObrdC7hrgAVM98tK0nv3hSQRGGKT4lBsQjHiGjeYZjOPIPHR5knm2jnnz/YGIXIofVHkA/tAlBAd5DrY7YpvI4tP5EONLtZKC2ghBMx7McI2wRD0xiqzxOQr1FuhZGJ8/AUokBzJrzY+aGX2xcOrxFYRlFilvVLTXg4LWjR1tdPkO6+i7wQZAIVMClPkwVRZEbaERRHlKqTzv2gGv5rDU8gRoe1LeaN+6BlbTqHWkQcNCUNrA8C6l17XAXGKDsm/9TFWwO8EPHHHCaQdjtV5/FdcWIt+L8SR1ss7EXTjYDFtxcKVv9rEoY1lX8T4mX+GbXfZHraG5NCF1+XioL5JwIDAQAB").unwrap();
    let params = [
        ("gmt_create", "2019-08-15 15:56:22"),
        ("charset", "utf-8"),
        ("seller_email", "z97-yuquerevenue@service.aliyun.com"),
        ("subject", "语雀空间 500人规模"),
        ("sign", "QfTb8tqE1BMhS5qAnXtvsF3/jBkEvu9q9en0pdbBUDDjvKycZhQb7h8GDs4FKfi049PynaNuatxSgLb/nLWZpXyyh0LEWdK2S6Ri7nPwrVgOs08zugLO20vOQz44y3ti2Ncm8/wZts1Fr2gZ7pShnVX3d1B50hbsXnObT1r/U8ONNQjWXd0HIul4TG+Q3fm3svmSvFEy0WnzuhcyHPX5Gm4ELNctL6Qd5YniGJFNcc7kopHYtI/XD9YCKCH6Ct02rzUs9i11C9CsadtZn+WhxF26Dqt9sGEFajkJ8cxUTLi8+VCpLHsgPE8P0y095uQcDdK0YjCh4x7wVSov+lrmOQ=="),
        ("buyer_id", "2088102534368455"),
        ("invoice_amount", "0.10"),
        ("notify_id", "2019081500222155624068450559358070"),
        ("fund_bill_list", r#"[{"amount":"0.10","fundChannel":"ALIPAYACCOUNT"}]"#),
        ("notify_type", "trade_status_sync"),
        ("trade_status", "TRADE_SUCCESS"),
        ("receipt_amount", "0.10"),
        ("buyer_pay_amount", "0.10"),
        ("sign_type", "RSA2"),
        ("app_id", "2019073166072302"),
        ("seller_id", "2088531891668739"),
        ("gmt_payment", "2019-08-15 15:56:24"),
        ("notify_time", "2019-08-15 15:56:25"),
        ("version", "1.0"),
        ("out_trade_no", "20190815155618536-564-57"),
        ("total_amount", "0.10"),
        ("trade_no", "2019081522001468450512505578"),
        ("auth_app_id", "2019073166072302"),
        ("buyer_logon_id", "xud***@126.com"),
        ("point_amount", "0.00"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    (params, key)
}

#[test]
fn a_notification_alipay_signed_verifies() {
    let (params, key) = alipay_sdk_notification();
    let notification = verify_notification(&params, &key).unwrap();
    assert_eq!(notification.out_trade_no, "20190815155618536-564-57");
    assert_eq!(notification.trade_no, "2019081522001468450512505578");
    assert_eq!(notification.total_amount, "0.10");
    assert_eq!(notification.app_id, "2019073166072302");
    assert_eq!(notification.seller_id.as_deref(), Some("2088531891668739"));
    assert_eq!(notification.trade_status, TradeStatus::TradeSuccess);
    assert!(notification.trade_status.is_paid());
}

#[test]
fn any_change_to_a_signed_notification_is_caught() {
    let (params, key) = alipay_sdk_notification();
    for (name, value) in [
        ("total_amount", "100.10"),
        ("out_trade_no", "20190815155618536-564-58"),
        ("trade_status", "TRADE_FINISHED"),
    ] {
        let mut forged = params.clone();
        forged.insert(name.into(), value.into());
        assert_eq!(
            verify_notification(&forged, &key),
            Err(AlipayError::BadSignature),
            "{name}"
        );
    }
    let mut unsigned = params.clone();
    unsigned.remove("sign");
    assert_eq!(
        verify_notification(&unsigned, &key),
        Err(AlipayError::MissingSign)
    );
    let mut not_base64 = params.clone();
    not_base64.insert("sign".into(), "not base64!".into());
    assert_eq!(
        verify_notification(&not_base64, &key),
        Err(AlipayError::SignNotBase64)
    );
    let mut rsa1 = params.clone();
    rsa1.insert("sign_type".into(), "RSA".into());
    assert_eq!(
        verify_notification(&rsa1, &key),
        Err(AlipayError::UnsupportedSignType("RSA".into()))
    );
    // Signed by someone else's key: our own test "Alipay" key is not Alipay's.
    let mut resigned = params.clone();
    sign_notification(&mut resigned, &PrivateKey::parse(ALIPAY_PRIVATE).unwrap());
    assert_eq!(
        verify_notification(&resigned, &key),
        Err(AlipayError::BadSignature)
    );
}

#[test]
fn notifications_are_signed_without_sign_type_and_round_trip() {
    let alipay = PrivateKey::parse(ALIPAY_PRIVATE).unwrap();
    let (mut params, _) = alipay_sdk_notification();
    sign_notification(&mut params, &alipay);
    let content = content_to_sign(&params, &["sign", "sign_type"]);
    assert!(
        !content.contains("sign_type")
            && content.starts_with("app_id=2019073166072302&auth_app_id=")
    );
    verify_notification(&params, &alipay.public_key()).unwrap();
}

#[test]
fn keys_are_read_as_pem_or_as_alipay_tool_base64() {
    let pem = PrivateKey::parse(MERCHANT_PRIVATE).unwrap();
    let bare: String = MERCHANT_PRIVATE
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert_eq!(
        PrivateKey::parse(&bare).unwrap().public_key(),
        pem.public_key()
    );
    let pkcs8 = PrivateKey::parse(&pem.to_pem()).unwrap();
    assert_eq!(pkcs8.public_key(), pem.public_key());
    assert_eq!(
        PublicKey::parse(&pem.public_key().to_pem()).unwrap(),
        pem.public_key()
    );
    assert_eq!(
        PrivateKey::parse("hello").unwrap_err(),
        AlipayError::UnreadableKey {
            which: "private key"
        }
    );
    assert_eq!(
        PublicKey::parse(MERCHANT_PRIVATE).unwrap_err(),
        AlipayError::UnreadableKey {
            which: "public key"
        }
    );
}

#[test]
fn page_pay_requests_carry_what_alipay_requires() {
    let key = PrivateKey::parse(MERCHANT_PRIVATE).unwrap();
    let request = PagePay {
        app_id: "2021000000000000".into(),
        out_trade_no: "BC20261123000000000001".into(),
        total_amount: "88.88".into(),
        subject: "Billing Center top-up".into(),
        notify_url: "https://billing.example.com/payments/alipay/notify".into(),
        return_url: "https://billing.example.com/wallet/top-up/return".into(),
        timestamp: "2026-11-23 20:00:00".into(),
        time_expire: Some("2026-11-24 19:00:00".into()),
    };
    let params = page_pay_params(&request, &key);
    assert_eq!(params["method"], "alipay.trade.page.pay");
    assert_eq!(params["sign_type"], "RSA2");
    let biz: PagePayContent = serde_json::from_str(&params["biz_content"]).unwrap();
    assert_eq!(biz.product_code, "FAST_INSTANT_TRADE_PAY");
    assert_eq!(biz.total_amount, "88.88");
    assert_eq!(biz.time_expire.as_deref(), Some("2026-11-24 19:00:00"));
    verify_request(&params, &key.public_key()).unwrap();
    let url = url_with_params(PRODUCTION_GATEWAY, &params);
    assert!(
        url.starts_with(
            "https://openapi.alipay.com/gateway.do?app_id=2021000000000000&biz_content=%7B"
        ),
        "{url}"
    );
    let back = params_from_pairs(
        form_urlencoded::parse(url.split_once('?').unwrap().1.as_bytes()).into_owned(),
    )
    .unwrap();
    assert_eq!(back, params);
}

#[test]
fn repeated_parameters_are_refused() {
    let pairs = vec![
        ("a".to_owned(), "1".to_owned()),
        ("a".to_owned(), "2".to_owned()),
    ];
    assert_eq!(
        params_from_pairs(pairs),
        Err(AlipayError::RepeatedParameter("a".into()))
    );
}

#[test]
fn the_signed_node_is_cut_out_of_the_answer_exactly_as_sent() {
    // Alipay's answers put the node first, with nested lists and braces inside strings.
    let body = r#"{"alipay_trade_query_response":{"code":"10000","msg":"Success","subject":"a {b} \"c\" }","fund_bill_list":[{"amount":"20.00","fund_channel":"ALIPAYACCOUNT"}]},"sign":"xyz"}"#;
    assert_eq!(
        response_node(body, TRADE_QUERY_RESPONSE),
        Some(
            r#"{"code":"10000","msg":"Success","subject":"a {b} \"c\" }","fund_bill_list":[{"amount":"20.00","fund_channel":"ALIPAYACCOUNT"}]}"#
        )
    );
    assert_eq!(response_node(r#"{"x": 1}"#, TRADE_QUERY_RESPONSE), None);
    assert_eq!(
        response_node(
            r#"{"alipay_trade_query_response": "text"}"#,
            TRADE_QUERY_RESPONSE
        ),
        None
    );
    assert_eq!(
        response_node(
            r#"{"alipay_trade_query_response":{"open""#,
            TRADE_QUERY_RESPONSE
        ),
        None
    );
}

#[test]
fn a_trade_query_answer_is_read_only_when_alipay_signed_it() {
    let alipay = PrivateKey::parse(ALIPAY_PRIVATE).unwrap();
    let paid = signed_response(
        TRADE_QUERY_RESPONSE,
        &serde_json::json!({
            "code": "10000", "msg": "Success", "out_trade_no": "BC20261123000000000001",
            "trade_no": "2026112322001400000000000001", "total_amount": "88.88",
            "trade_status": "TRADE_SUCCESS", "buyer_pay_amount": "88.88"
        }),
        &alipay,
    );
    assert_eq!(
        verify_trade_query(&paid, "BC20261123000000000001", &alipay.public_key()).unwrap(),
        TradeQuery::Found {
            out_trade_no: "BC20261123000000000001".into(),
            trade_no: "2026112322001400000000000001".into(),
            total_amount: "88.88".into(),
            trade_status: TradeStatus::TradeSuccess,
        }
    );
    // Someone between us and Alipay appends a forged node, or answers with another trade's answer.
    let forged = paid.replacen(
        "},",
        r#"},"alipay_trade_query_response":{"code":"10000","out_trade_no":"BC20261123000000000001","trade_no":"x","total_amount":"9999.00","trade_status":"TRADE_SUCCESS"},"#,
        1,
    );
    assert!(verify_trade_query(&forged, "BC20261123000000000001", &alipay.public_key()).is_err());
    assert!(matches!(
        verify_trade_query(&paid, "BC20261123000000000002", &alipay.public_key()),
        Err(AlipayError::MalformedResponse(_))
    ));
    let tampered = paid.replace("88.88", "8888.00");
    assert_eq!(
        verify_trade_query(&tampered, "BC20261123000000000001", &alipay.public_key()),
        Err(AlipayError::BadSignature)
    );
    let another_key = PrivateKey::parse(MERCHANT_PRIVATE).unwrap();
    assert_eq!(
        verify_trade_query(&paid, "BC20261123000000000001", &another_key.public_key()),
        Err(AlipayError::BadSignature)
    );
    let missing = signed_response(
        TRADE_QUERY_RESPONSE,
        &serde_json::json!({"code": "40004", "msg": "Business Failed",
            "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "交易不存在"}),
        &alipay,
    );
    assert_eq!(
        verify_trade_query(&missing, "BC20261123000000000001", &alipay.public_key()),
        Ok(TradeQuery::NotFound)
    );
    let refused = signed_response(
        TRADE_QUERY_RESPONSE,
        &serde_json::json!({"code": "40002", "msg": "Invalid Arguments",
            "sub_code": "isv.invalid-app-id", "sub_msg": "无效的AppID参数"}),
        &alipay,
    );
    assert!(matches!(
        verify_trade_query(&refused, "BC20261123000000000001", &alipay.public_key()),
        Err(AlipayError::GatewayRefused { .. })
    ));
    let unsigned = r#"{"alipay_trade_query_response":{"code":"10000"}}"#;
    assert_eq!(
        verify_trade_query(unsigned, "BC20261123000000000001", &alipay.public_key()),
        Err(AlipayError::MissingSign)
    );
    assert!(matches!(
        verify_trade_query("<html>", "BC20261123000000000001", &alipay.public_key()),
        Err(AlipayError::MalformedResponse(_))
    ));
}

#[test]
fn a_trade_query_request_is_signed_over_its_parameters() {
    let key = PrivateKey::parse(MERCHANT_PRIVATE).unwrap();
    let params = trade_query_params(
        "2021000000000000",
        "BC20261123000000000001",
        "2026-11-23 20:00:00",
        &key,
    );
    assert_eq!(params["method"], "alipay.trade.query");
    assert_eq!(
        params["biz_content"],
        r#"{"out_trade_no":"BC20261123000000000001"}"#
    );
    verify_request(&params, &key.public_key()).unwrap();
}

fn phone_request() -> PagePay {
    PagePay {
        app_id: "2021000000000000".into(),
        out_trade_no: "BC20261123000000000002".into(),
        total_amount: "66.60".into(),
        subject: "Billing Center top-up".into(),
        notify_url: "https://billing.example.com/payments/alipay/notify".into(),
        return_url: "https://billing.example.com/wallet/top-up/return".into(),
        timestamp: "2026-11-23 20:00:00".into(),
        time_expire: Some("2026-11-24 19:00:00".into()),
    }
}

#[test]
fn wap_pay_requests_carry_quick_wap_way_and_quit_url() {
    let key = PrivateKey::parse(MERCHANT_PRIVATE).unwrap();
    let quit = "https://billing.example.com/wallet/top-up";
    let params = wap_pay_params(&phone_request(), quit, &key);
    assert_eq!(params["method"], "alipay.trade.wap.pay");
    for (name, value) in [
        ("app_id", "2021000000000000"),
        ("format", "JSON"),
        ("charset", "utf-8"),
        ("sign_type", "RSA2"),
        ("timestamp", "2026-11-23 20:00:00"),
        ("version", "1.0"),
        (
            "notify_url",
            "https://billing.example.com/payments/alipay/notify",
        ),
        (
            "return_url",
            "https://billing.example.com/wallet/top-up/return",
        ),
    ] {
        assert_eq!(params[name], value, "{name}");
    }
    let biz: PagePayContent = serde_json::from_str(&params["biz_content"]).unwrap();
    assert_eq!(biz.product_code, "QUICK_WAP_WAY");
    assert_eq!(biz.quit_url.as_deref(), Some(quit));
    assert_eq!(biz.out_trade_no, "BC20261123000000000002");
    assert_eq!(biz.total_amount, "66.60");
    assert_eq!(biz.time_expire.as_deref(), Some("2026-11-24 19:00:00"));
    // Signed with the merchant key: the fixture public key (made by OpenSSL) verifies it.
    let public = PublicKey::parse(MERCHANT_PUBLIC).unwrap();
    verify_request(&params, &public).unwrap();
    assert_eq!(wap_pay_params(&phone_request(), quit, &key), params);
    let mut tampered = params.clone();
    tampered.insert(
        "biz_content".into(),
        params["biz_content"].replace("66.60", "0.01"),
    );
    assert_eq!(
        verify_request(&tampered, &public),
        Err(AlipayError::BadSignature)
    );
    // The desktop request for the same trade keeps its own product and has no quit_url.
    let desktop = page_pay_params(&phone_request(), &key);
    assert_eq!(desktop["method"], "alipay.trade.page.pay");
    let biz: PagePayContent = serde_json::from_str(&desktop["biz_content"]).unwrap();
    assert_eq!(biz.product_code, "FAST_INSTANT_TRADE_PAY");
    assert_eq!(biz.quit_url, None);
}

fn precreate_request(time_expire: Option<&str>) -> Precreate {
    Precreate {
        out_trade_no: "BC20261123000000000003".into(),
        total_amount: "12.34".into(),
        subject: "Billing Center top-up".into(),
        notify_url: "https://billing.example.com/payments/alipay/notify".into(),
        timestamp: "2026-11-23 20:00:00".into(),
        time_expire: time_expire.map(str::to_owned),
    }
}

#[test]
fn a_precreate_request_is_signed_with_notify_url_and_the_trade_in_biz_content() {
    let key = PrivateKey::parse(MERCHANT_PRIVATE).unwrap();
    let params = precreate_params(
        "2021000000000000",
        &precreate_request(Some("2026-11-24 19:00:00")),
        &key,
    );
    assert_eq!(params["method"], "alipay.trade.precreate");
    assert_eq!(params["app_id"], "2021000000000000");
    assert_eq!(
        params["notify_url"],
        "https://billing.example.com/payments/alipay/notify"
    );
    assert!(!params.contains_key("return_url"));
    let biz: serde_json::Value = serde_json::from_str(&params["biz_content"]).unwrap();
    assert_eq!(
        biz,
        serde_json::json!({
            "out_trade_no": "BC20261123000000000003", "total_amount": "12.34",
            "subject": "Billing Center top-up", "time_expire": "2026-11-24 19:00:00"
        })
    );
    verify_request(&params, &PublicKey::parse(MERCHANT_PUBLIC).unwrap()).unwrap();
    let open_ended = precreate_params("2021000000000000", &precreate_request(None), &key);
    let biz: serde_json::Value = serde_json::from_str(&open_ended["biz_content"]).unwrap();
    assert!(biz.get("time_expire").is_none(), "{biz}");
}

#[test]
fn a_precreate_answer_is_read_only_when_alipay_signed_it() {
    let alipay = PrivateKey::parse(ALIPAY_PRIVATE).unwrap();
    let ours = "BC20261123000000000003";
    let answer = |content: serde_json::Value, key: &PrivateKey| {
        signed_response(PRECREATE_RESPONSE, &content, key)
    };
    let ok = serde_json::json!({"code": "10000", "msg": "Success", "out_trade_no": ours,
        "qr_code": "https://qr.alipay.com/bax03431ljhokirwl38f00a7"});
    let body = answer(ok.clone(), &alipay);
    assert_eq!(
        verify_precreate(&body, ours, &alipay.public_key()),
        Ok("https://qr.alipay.com/bax03431ljhokirwl38f00a7".to_owned())
    );
    // Signed by another key than Alipay's.
    let merchant = PrivateKey::parse(MERCHANT_PRIVATE).unwrap();
    assert_eq!(
        verify_precreate(&answer(ok.clone(), &merchant), ours, &alipay.public_key()),
        Err(AlipayError::BadSignature)
    );
    // The qr_code swapped on the way.
    let swapped = body.replace("bax03431", "bax66666");
    assert_eq!(
        verify_precreate(&swapped, ours, &alipay.public_key()),
        Err(AlipayError::BadSignature)
    );
    // A genuine answer, but about another trade.
    assert_eq!(
        verify_precreate(&body, "BC20261123000000000004", &alipay.public_key()),
        Err(AlipayError::MalformedResponse(
            "the answer is about another trade".into()
        ))
    );
    let failed = answer(
        serde_json::json!({"code": "40004", "msg": "Business Failed",
            "sub_code": "ACQ.TRADE_HAS_CLOSE", "sub_msg": "交易已经关闭", "out_trade_no": ours}),
        &alipay,
    );
    assert_eq!(
        verify_precreate(&failed, ours, &alipay.public_key()),
        Err(AlipayError::GatewayRefused {
            code: "40004".into(),
            sub_code: "ACQ.TRADE_HAS_CLOSE".into(),
            message: "交易已经关闭".into(),
        })
    );
    let no_code = answer(
        serde_json::json!({"code": "10000", "msg": "Success", "out_trade_no": ours}),
        &alipay,
    );
    assert_eq!(
        verify_precreate(&no_code, ours, &alipay.public_key()),
        Err(AlipayError::MissingParameter("qr_code"))
    );
    // A second, forged node next to the signed one; an answer to another method; no sign.
    let doubled = body.replacen(
        "},",
        r#"},"alipay_trade_precreate_response":{"code":"10000","out_trade_no":"BC20261123000000000003","qr_code":"https://evil.example/"},"#,
        1,
    );
    assert!(matches!(
        verify_precreate(&doubled, ours, &alipay.public_key()),
        Err(AlipayError::MalformedResponse(_))
    ));
    let query_answer = signed_response(TRADE_QUERY_RESPONSE, &ok, &alipay);
    assert!(matches!(
        verify_precreate(&query_answer, ours, &alipay.public_key()),
        Err(AlipayError::MalformedResponse(_))
    ));
    let unsigned = format!("{{\"{PRECREATE_RESPONSE}\":{ok}}}");
    assert_eq!(
        verify_precreate(&unsigned, ours, &alipay.public_key()),
        Err(AlipayError::MissingSign)
    );
}
