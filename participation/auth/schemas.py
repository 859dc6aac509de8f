"""Request and response schemas for sign-in, tokens, claims, staff accounts and the profile."""

from __future__ import annotations

import re

import marshmallow as ma

from participation.auth.models import ClaimKind, ClaimStatus, Role
from participation.auth.reminders import ReminderStatus
from participation.common.schemas import Amount, Integer, LocalDateTime, PatchSchema, Schema

MOBILE = re.compile(r"1[3-9]\d{9}")


def _required(message: str) -> dict:
    return {"required": message, "null": message}


class MobilePhone(ma.fields.String):
    """An 11-digit mainland mobile number. Spaces, dashes and a +86 prefix are dropped."""

    def __init__(self, **kwargs):
        metadata = {
            "pattern": "^1[3-9][0-9]{9}$",
            "example": "13800000000",
            "description": "11 位大陆手机号（空格、短横线和 +86 前缀会被去掉）",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    default_error_messages = {**_required("请输入手机号"), "invalid": "请输入正确的 11 位手机号"}

    def _deserialize(self, value, attr, data, **kwargs):
        text = re.sub(r"[\s-]", "", super()._deserialize(value, attr, data, **kwargs))
        text = re.sub(r"^\+?86(?=\d{11}$)", "", text)
        if not MOBILE.fullmatch(text):
            raise self.make_error("invalid")
        return text


# --- sign-in and tokens ---------------------------------------------------------------------


class CodeRequestSchema(Schema):
    phone = MobilePhone(required=True)


class CodeSentSchema(Schema):
    message = ma.fields.String()
    expires_in = Integer(metadata={"description": "seconds the code stays valid"})


class PhoneSignInSchema(Schema):
    phone = MobilePhone(required=True)
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(r"^\d{6}$", error="请输入 6 位数字验证码"),
        error_messages=_required("请输入验证码"),
    )
    wechat_ticket = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(min=1, max=128),
        metadata={
            "description": "the binding ticket from ``#wechat_bind=`` after a WeChat visit: "
            "binds that WeChat user to this phone's account"
        },
    )


class WechatAuthorizeQuerySchema(Schema):
    next = ma.fields.String(
        load_default=None,
        metadata={"description": "a path of this site to return to (default /h5/)"},
    )


class WechatCallbackQuerySchema(Schema):
    class Meta(Schema.Meta):
        unknown = ma.EXCLUDE  # WeChat may add parameters of its own

    code = ma.fields.String(load_default=None)
    state = ma.fields.String(load_default=None)


class WechatSignInSchema(Schema):
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=128),
        error_messages=_required("缺少微信登录码"),
        metadata={"description": "the one-time code from ``#wechat_login=``"},
    )


class StaffSignInSchema(Schema):
    username = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=64),
        error_messages=_required("请输入用户名"),
    )
    password = ma.fields.String(
        required=True,
        load_only=True,
        validate=ma.validate.Length(min=1, max=128),
        error_messages=_required("请输入密码"),
    )


class AccessTokenSchema(Schema):
    access_token = ma.fields.String()
    token_type = ma.fields.String(metadata={"example": "Bearer"})
    expires_in = Integer(metadata={"description": "seconds the access token lives"})


class TokenPairSchema(AccessTokenSchema):
    refresh_token = ma.fields.String(
        metadata={"description": "send to POST /auth/refresh for a new access token"}
    )


# --- dwelling claims --------------------------------------------------------------------------


class ClaimInSchema(Schema):
    compound_id = Integer(required=True, strict=True, error_messages=_required("请选择小区"))
    building = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=32, error="请填写楼栋"),
        error_messages=_required("请填写楼栋"),
        metadata={"example": "1栋"},
    )
    entrance = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(max=32),
        metadata={"example": "2单元", "description": "empty for a single-entrance building"},
    )
    room = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=32, error="请填写房号"),
        error_messages=_required("请填写房号"),
        metadata={"example": "501"},
    )
    name = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=64, error="请填写姓名"),
        error_messages=_required("请填写姓名"),
    )
    id_last4 = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Regexp(r"^\d{3}[\dXx]$", error="请填写证件号码后四位"),
        metadata={"description": "last four characters of the ID number; required for owners"},
    )
    kind = ma.fields.Enum(
        ClaimKind,
        by_value=True,
        required=True,
        error_messages={**_required("请选择业主或租户"), "unknown": "请选择业主或租户"},
    )

    @ma.pre_load
    def strip(self, data, **kwargs):
        if isinstance(data, dict):
            return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return data

    @ma.validates_schema
    def owner_needs_id(self, data, **kwargs):
        if data.get("kind") is ClaimKind.OWNER and not data.get("id_last4"):
            raise ma.ValidationError("业主申请请填写证件号码后四位", "id_last4")

    @ma.post_load
    def upper_id(self, data, **kwargs):
        if data.get("id_last4"):
            data["id_last4"] = data["id_last4"].upper()
        return data


class ClaimSchema(Schema):
    id = Integer()
    compound_id = Integer()
    compound_name = ma.fields.String()
    dwelling_id = Integer()
    dwelling_label = ma.fields.String(metadata={"example": "1栋2单元501"})
    kind = ma.fields.Enum(ClaimKind, by_value=True)
    status = ma.fields.Enum(ClaimStatus, by_value=True)
    created_at = LocalDateTime()
    decided_at = LocalDateTime(allow_none=True)
    decision_note = ma.fields.String()


class FlagSchema(Schema):
    code = ma.fields.String()
    message = ma.fields.String()


class StaffClaimSchema(ClaimSchema):
    """Name, phone and ID digits in full only for the compound's own committee; masked for
    staff above it."""

    name = ma.fields.String()
    phone = ma.fields.String()
    id_last4 = ma.fields.String(allow_none=True)
    flags = ma.fields.List(
        ma.fields.Nested(FlagSchema),
        metadata={
            "description": "与花名册不一致之处，审核前请核实：name_differs 姓名不一致 / "
            "id_differs 证件号码后四位不一致 / dwelling_linked 房屋已关联其他手机号"
        },
    )


class ClaimQuerySchema(Schema):
    status = ma.fields.Enum(ClaimStatus, by_value=True)


class ApproveSchema(Schema):
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))


class RejectSchema(Schema):
    note = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=200, error="请填写驳回理由（不超过 200 字）"),
        error_messages=_required("请填写驳回理由"),
    )


# --- staff accounts ---------------------------------------------------------------------------


class RoleGrantSchema(Schema):
    role = ma.fields.Enum(Role, by_value=True, required=True)
    scope_id = Integer(
        load_default=0,
        strict=True,
        metadata={"description": "id of the district, street, community or compound; 0 for admin"},
    )

    @ma.validates_schema
    def scope_matches_role(self, data, **kwargs):
        if (data["role"] is Role.ADMIN) != (data["scope_id"] == 0):
            raise ma.ValidationError(
                "管理员角色的 scope_id 为 0，其他角色须指定地区或小区", "scope_id"
            )


class RoleSchema(Schema):
    id = Integer()
    role = ma.fields.Enum(Role, by_value=True)
    scope_id = Integer()
    place_name = ma.fields.String(allow_none=True, metadata={"description": "null for admin"})


PASSWORD = ma.validate.Length(min=10, max=128, error="密码长度须为 10 到 128 个字符")


class StaffCreateSchema(Schema):
    username = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(
            r"^[A-Za-z0-9_.-]{3,64}$", error="用户名为 3 到 64 个字母、数字或 _ . -"
        ),
    )
    password = ma.fields.String(required=True, load_only=True, validate=PASSWORD)
    display_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    phone = MobilePhone(load_default=None, allow_none=True)
    roles = ma.fields.List(
        ma.fields.Nested(RoleGrantSchema),
        required=True,
        validate=ma.validate.Length(min=1, error="至少授予一个角色"),
    )


class StaffPatchSchema(PatchSchema):
    display_name = ma.fields.String(validate=ma.validate.Length(min=1, max=64))
    active = ma.fields.Boolean(
        metadata={"description": "false signs the account out everywhere at once"}
    )
    password = ma.fields.String(
        load_only=True,
        validate=PASSWORD,
        metadata={"description": "a new password signs the account out everywhere"},
    )


class StaffSchema(Schema):
    id = Integer()
    username = ma.fields.String()
    display_name = ma.fields.String()
    phone = ma.fields.String(allow_none=True)
    active = ma.fields.Boolean()
    created_at = LocalDateTime()
    roles = ma.fields.List(ma.fields.Nested(RoleSchema))


# --- profile ------------------------------------------------------------------------------


class DwellingRefSchema(Schema):
    dwelling_id = Integer()
    compound_id = Integer()
    compound_name = ma.fields.String()
    label = ma.fields.String(metadata={"example": "1栋2单元501"})


class OwnedDwellingSchema(DwellingRefSchema):
    area = Amount(metadata={"description": "m², two decimals"})
    owner_name = ma.fields.String(metadata={"description": "masked: 张*"})
    co_owners = Integer(metadata={"description": "other registered owners"})


class ResidentProfileSchema(Schema):
    phone = ma.fields.String(metadata={"example": "138****5678"})
    owned = ma.fields.List(ma.fields.Nested(OwnedDwellingSchema))
    rented = ma.fields.List(ma.fields.Nested(DwellingRefSchema))
    pending_claims = ma.fields.List(ma.fields.Nested(ClaimSchema))
    wechat_bound = ma.fields.Boolean(
        metadata={"description": "已绑定微信：在微信中打开页面即可登录（DELETE /me/wechat 解除）"}
    )


class StaffProfileSchema(Schema):
    id = Integer()
    username = ma.fields.String()
    display_name = ma.fields.String()
    roles = ma.fields.List(ma.fields.Nested(RoleSchema))


class ProfileSchema(Schema):
    kind = ma.fields.String(metadata={"enum": ["resident", "staff"]})
    resident = ma.fields.Nested(ResidentProfileSchema, allow_none=True)
    staff = ma.fields.Nested(StaffProfileSchema, allow_none=True)


# In-app notifications ------------------------------------------------------------------------


class NotificationQuerySchema(Schema):
    unread = ma.fields.Boolean(metadata={"description": "true：只看未读"})


class NotificationSchema(Schema):
    id = Integer()
    kind = ma.fields.String(metadata={"example": "ticket_progress"})
    title = ma.fields.String()
    body = ma.fields.String()
    link = ma.fields.String(allow_none=True)
    created_at = LocalDateTime()
    read_at = LocalDateTime(allow_none=True)


class ReadSchema(Schema):
    changed = Integer(metadata={"description": "标为已读的条数"})
    unread = Integer(metadata={"description": "剩余未读条数"})


class ReminderFieldsSchema(Schema):
    """What every campaign's reminder row shows (the shape ``auth/reminders.py`` fills);
    each campaign adds its own id (``vote_id``, ``survey_id``)."""

    id = Integer()
    created_by_id = Integer()
    created_at = LocalDateTime()
    status = ma.fields.String(
        metadata={
            "description": "queued 待发送 / sending 发送中 / paused_quiet_hours 21:00–08:00 暂停，"
            "08:00 后继续 / done 已发送完毕 / failed 后台任务失败",
            "enum": [s.value for s in ReminderStatus],
        }
    )
    sent_count = Integer(metadata={"description": "已发出短信的业主数"})
    skipped_count = Integer(
        metadata={
            "description": "未发短信的业主数：没有手机号，或该号码当天已收到过本小区的提醒"
            "（表决或问卷）"
        }
    )
    failed_count = Integer(metadata={"description": "短信平台未接收（重试后仍失败）的业主数"})
    notified_count = Integer(metadata={"description": "收到站内通知的账号数"})
    finished_at = LocalDateTime(allow_none=True)


JOB_ID_DESCRIPTION = "后台任务编号；未配置 Redis 时已当场发送完毕，为 null"
